// Public surface of engine/files: user-named paths confined to their folder, atomic writes,
// and ComfyUI's counter file names.
export { UnsafePathError, resolveInside, normalizeRelativeName } from './safe-path.ts';
export { writeFileAtomic } from './atomic-write.ts';
export { nextCounterFilename, expandPrefixTokens } from './counter-name.ts';
export type { CounterFilename, PrefixValues } from './counter-name.ts';
export { openSaveJournal, SAVE_JOURNAL_DIR, type SaveJournal, type SavedName } from './save-journal.ts';
export { parseAnnotatedName } from './annotated-name.ts';
export type { AnnotatedName, FolderKind } from './annotated-name.ts';
export { readExtraModelPaths, ExtraModelPathsError } from './extra-model-paths.ts';
export type { ModelPaths } from './extra-model-paths.ts';
