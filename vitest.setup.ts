// Runs before every test file. In CI (CI set) property tests are deterministic: fast-check
// uses one fixed seed, so a run on a clean clone gives the same verdict every time; locally
// each run explores new seeds (a failure prints the seed to reproduce it). LUABPF_FC_SEED
// pins a seed in either case. Tests that pass their own `seed` keep it.
import fc from "fast-check";

const pinned = process.env.LUABPF_FC_SEED;
const seed = pinned !== undefined && pinned !== "" ? Number(pinned) : process.env.CI ? 20261128 : undefined;
if (seed !== undefined) fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
