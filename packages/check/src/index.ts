/**
 * @luabpf/check — reliability tools for luabpf (private): the kernel runner used by the
 * differential tester and the regression tests.
 *
 * @packageDocumentation
 */
export * from "./kernel.js";
