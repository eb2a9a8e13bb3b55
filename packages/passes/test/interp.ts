// The interpreter is not (yet) re-exported by @luabpf/ir's index; import it from its file
// in one place so that switching to "@luabpf/ir" later is a one-line change.
export * from "../../ir/src/interp.js";
