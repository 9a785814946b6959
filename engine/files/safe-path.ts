// Confines user-named files (LoadImage's `image`, SaveImage's prefix, /view's filename) to one
// folder: lexical checks first, then realpath so a symlink cannot lead out of the folder.
import { realpathSync } from 'node:fs';
import { dirname, join, posix, relative, resolve, sep, isAbsolute, basename } from 'node:path';

/** A file name from a user would leave its folder (or is not a usable name at all). */
export class UnsafePathError extends Error {
  override name = 'UnsafePathError';
  constructor(
    readonly unsafeName: string,
    reason: string,
  ) {
    super(`Unsafe file name ${JSON.stringify(unsafeName)}: ${reason}. Use a plain relative name inside the folder, such as "photo.png" or "sub/photo.png".`);
  }
}

/** Checks a relative name without touching the disk and returns it in normal form ("a/b.png").
 *  Only "/" separates folders; backslashes are refused because Windows treats them as separators. */
export function normalizeRelativeName(name: string): string {
  if (name.length === 0) throw new UnsafePathError(name, 'the name is empty');
  if (name.includes('\0')) throw new UnsafePathError(name, 'it contains a NUL byte');
  if (name.includes('\\')) throw new UnsafePathError(name, 'it contains a backslash');
  if (name.startsWith('/') || isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw new UnsafePathError(name, 'it is an absolute path');
  }
  const segments = name.split('/');
  if (segments.includes('..')) throw new UnsafePathError(name, 'it contains a ".." segment');
  const normal = posix.normalize(name).replace(/\/+$/, '');
  if (normal === '.' || normal === '') throw new UnsafePathError(name, 'it names the folder itself, not a file');
  return normal;
}

/** Realpath of the deepest part of `path` that exists, with the rest appended. */
function realpathOfExisting(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(current);
      if (parent === current) throw error;
      missing.push(basename(current));
      current = parent;
    }
  }
}

function isInside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}

/** Absolute path of `name` inside `folder`, or UnsafePathError. The file need not exist; if it
 *  (or a parent) does, its real path (symlinks followed) must still be inside the folder. */
export function resolveInside(folder: string, name: string): string {
  const normal = normalizeRelativeName(name);
  const root = resolve(folder);
  const lexical = resolve(root, normal);
  if (!isInside(root, lexical)) throw new UnsafePathError(name, 'it leaves the folder');
  const realRoot = realpathOfExisting(root);
  const real = realpathOfExisting(lexical);
  if (!isInside(realRoot, real)) throw new UnsafePathError(name, 'a symbolic link leads out of the folder');
  return lexical;
}
