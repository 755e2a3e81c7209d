// Which files in a synced folder are not objects: our own staging files and what
// file-sync tools, editors and operating systems leave beside objects.

import { STAGING_MARKER } from "../_atomic_file.ts";

const IGNORED_NAMES = new Set([
  ".DS_Store",
  "Thumbs.db",
  "desktop.ini",
  ".stfolder",
  ".stignore",
  ".stversions",
  ".dropbox",
  ".dropbox.attr",
  ".dropbox.cache",
]);

const IGNORED_PATTERNS: readonly RegExp[] = [
  /^\.syncthing\..*\.tmp$/, // Syncthing partial download
  /\.sync-conflict-/, // Syncthing conflict copy
  /\(conflicted copy/i, // Dropbox conflict copy
  /^\.~lock\./, // LibreOffice lock
  /^~\$/, // MS Office owner file
  /^\._/, // AppleDouble resource fork
  /^\.#/, // Emacs lock
  /^#.*#$/, // Emacs auto-save
  /^\..*\.sw[a-p]$/, // vim swap
  /~$/, // editor backup
  /\.(tmp|temp|part|partial|crdownload)$/i, // generic partial files
];

/** Whether a file or directory name is not an object (and its subtree is skipped). */
export function isIgnoredName(name: string): boolean {
  if (name.includes(STAGING_MARKER)) return true;
  if (IGNORED_NAMES.has(name)) return true;
  return IGNORED_PATTERNS.some((re) => re.test(name));
}
