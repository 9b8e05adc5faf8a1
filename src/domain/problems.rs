//! Words that report something going wrong, in English and French (lowercased, accent-folded), shared by the
//! sentiment lexicon and the extraction of issues.

fn has(s: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| s.contains(n))
}

/// Phrases of something going wrong.
pub const ISSUE: &[&str] = &[
    "not working",
    "doesn't work",
    "does not work",
    "stopped working",
    "won't",
    "broken",
    "broke",
    "error",
    "crash",
    "offline",
    "disconnect",
    "can't",
    "cannot",
    "unable",
    "never arrived",
    "hasn't arrived",
    "not arrived",
    "missing",
    "lost",
    "damaged",
    "charged twice",
    "double charge",
    "overcharg",
    "wrong",
    "fail",
    "bug",
    "locked",
    "keeps",
    "still waiting",
    "no response",
    "problem",
    "issue",
    "ne fonctionne pas",
    "ne marche pas",
    "marche plus",
    "fonctionne plus",
    "panne",
    "erreur",
    "plante",
    "hors ligne",
    "deconnect",
    "impossible",
    "jamais recu",
    "pas recu",
    "pas arrive",
    "jamais arrive",
    "toujours pas",
    "perdu",
    "abime",
    "casse",
    "deux fois",
    "double prelevement",
    "bloque",
    "probleme",
    "souci",
    "bug",
    "n'arrive pas",
];
/// Whether folded, lowercased text reports something going wrong.
pub fn reports_problem(folded: &str) -> bool {
    has(folded, ISSUE)
        || has(
            folded,
            &[
                "didn't",
                "did not",
                "doesn't",
                "isn't",
                "wasn't",
                "ne s'est pas",
                "alors que",
                "n'a pas",
                "ne se",
            ],
        )
}
