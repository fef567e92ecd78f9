//! "Did you mean" hints for names typed by people (policy files, configuration keys).

/// The closest of `candidates` to `word`, if it is a plausible typo of it: at most two edits
/// (a swap of neighbours counts as one), or a quarter of the word's length for longer words.
/// Ties go to the first candidate.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let limit = (word.chars().count() / 4).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// ` (did you mean "x"?)`, or nothing.
pub fn hint(suggestion: Option<&str>) -> String {
    suggestion
        .map(|m| format!(" (did you mean {m:?}?)"))
        .unwrap_or_default()
}

/// `"a", "b", "c"` for messages.
pub fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("{i:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}
