// ComfyUI's annotated file names (folder_paths.get_annotated_filepath): "photo.png [output]"
// names a file in the output folder instead of the default one (comfyui-api.md §2.8, §2.9).
export type FolderKind = 'input' | 'output' | 'temp';

export interface AnnotatedName {
  name: string;
  /** The folder named by the annotation; undefined when the name carries none. */
  folder: FolderKind | undefined;
}

const annotation = /\s*\[(input|output|temp)\]$/;

export function parseAnnotatedName(text: string): AnnotatedName {
  const match = annotation.exec(text);
  if (!match) return { name: text, folder: undefined };
  return { name: text.slice(0, match.index), folder: match[1] as FolderKind };
}
