// The reference interpreter, from @luabpf/ir's public entry point (one place to change).
export { evalBinary, evalCast, evalCompare, evalUnary, interpret, InterpError } from "@luabpf/ir";
