import module from "node:module";

/**
 * V8's code cache for every module loaded after this one (Node ≥ 22.1): a later start
 * reuses the compiled code instead of compiling ~1,500 modules again. The directory is
 * NODE_COMPILE_CACHE, or node-compile-cache under the system temporary directory; a
 * missing or unwritable cache only means compiling as before.
 */
module.enableCompileCache?.();
