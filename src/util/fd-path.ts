/**
 * The path through which this process reaches what its descriptor `fd` refers to
 * (`/proc/self/fd/N`): opening or listing it uses the open file or folder itself, never the path
 * it was opened by again, and `readlink` of it names where that file or folder really is now.
 */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}
