// Private helper: text folding shared by the index and search.

/**
 * Folds text for case-insensitive matching: Unicode normalisation (NFC), then lower case
 * (full Unicode case mapping, so `WÖRLD` matches `wörld`).
 */
export function foldCase(text: string): string {
  return text.normalize("NFC").toLowerCase();
}
