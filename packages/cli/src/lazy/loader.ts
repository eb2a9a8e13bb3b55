/**
 * The names the commands take from @luabpf/loader when they load it on demand: they import this
 * module, never the package itself, dynamically. In the bundle (scripts/bundle-cli.js), a
 * module imported dynamically needs a namespace object, which esbuild makes when the bundle
 * starts, with one getter per export: the packages' namespaces were ~560 getters made by
 * every command at start-up; this module's has a few. Add a name here when a command needs it.
 */
export { bpfAvailable, buildPacket, LoaderError, loadObject, openPinnedMap, pinnedPaths } from "@luabpf/loader";
