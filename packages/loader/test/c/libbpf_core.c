// Loads a BPF object with libbpf (optionally relocating CO-RE against another BTF file,
// btf_custom_path) and prints each program's instructions after load, one 8-byte slot
// per line in hex, so the tests can compare libbpf's relocations with luabpf's.
// Usage: libbpf_core OBJ [BTF]
#include <stdio.h>
#include <bpf/libbpf.h>

static int warnings_only(enum libbpf_print_level level, const char *format, va_list args) {
  return level == LIBBPF_WARN ? vfprintf(stderr, format, args) : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  libbpf_set_print(warnings_only);
  LIBBPF_OPTS(bpf_object_open_opts, options, .btf_custom_path = argc > 2 ? argv[2] : NULL);
  struct bpf_object *object = bpf_object__open_file(argv[1], &options);
  if (!object) return 1;
  if (bpf_object__load(object)) return 2;
  struct bpf_program *program;
  bpf_object__for_each_program(program, object) {
    const unsigned char *bytes = (const unsigned char *)bpf_program__insns(program);
    size_t count = bpf_program__insn_cnt(program);
    printf("program %s\n", bpf_program__name(program));
    for (size_t i = 0; bytes && i < count * 8; i++) printf(i % 8 == 7 ? "%02x\n" : "%02x", bytes[i]);
  }
  bpf_object__close(object);
  return 0;
}
