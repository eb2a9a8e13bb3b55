/**
 * @luabpf/frontend-lua — compiles the Lua dialect of bcc's LuaJIT-to-BPF compiler to the
 * luabpf IR. See docs/language.md for the language.
 *
 * @packageDocumentation
 */
export { compileLua, functionName, type CompileLuaOptions } from "./compile.js";
export { parseLua } from "./parse.js";
export { KernelTypes, TracepointFormatError, type KernelTypeSource, type TracepointFormat, type TracepointField } from "./kernel/index.js";
export { CDeclError } from "./ctypes/index.js";
