//! Cues: the words that make a message frustrated or negative, named so that an agent sees why (a threat to
//! leave, a broken promise, a third contact...). English and French rules over lowercased, accent-folded text;
//! precise rather than exhaustive, since the trained classifier carries the rest.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::text::fold;

/// Why a message reads as frustrated or negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    /// Cancel, not renew, switch to a competitor.
    ThreatToLeave,
    /// Chargeback, lawyer, consumer body, complaint to a regulator.
    LegalThreat,
    /// "Third time I write", "I already explained".
    RepeatContact,
    /// "You promised", "still no callback".
    BrokenPromise,
    /// Asks for a manager or a human.
    EscalationRequest,
    /// Days or weeks of waiting, hours on hold.
    LongWait,
    /// Praise that means the opposite.
    Sarcasm,
    /// Capitals, "!!!".
    Shouting,
    /// Threat of bad reviews or going public.
    PublicShaming,
}

impl Cue {
    /// Every cue, in a fixed order (the classifier's feature order).
    pub const ALL: [Cue; 9] = [
        Cue::ThreatToLeave,
        Cue::LegalThreat,
        Cue::RepeatContact,
        Cue::BrokenPromise,
        Cue::EscalationRequest,
        Cue::LongWait,
        Cue::Sarcasm,
        Cue::Shouting,
        Cue::PublicShaming,
    ];

    /// The cue's snake_case name.
    pub fn code(self) -> &'static str {
        match self {
            Cue::ThreatToLeave => "threat_to_leave",
            Cue::LegalThreat => "legal_threat",
            Cue::RepeatContact => "repeat_contact",
            Cue::BrokenPromise => "broken_promise",
            Cue::EscalationRequest => "escalation_request",
            Cue::LongWait => "long_wait",
            Cue::Sarcasm => "sarcasm",
            Cue::Shouting => "shouting",
            Cue::PublicShaming => "public_shaming",
        }
    }

    /// Whether the cue alone makes a negative message frustrated.
    pub fn is_strong(self) -> bool {
        matches!(
            self,
            Cue::ThreatToLeave
                | Cue::LegalThreat
                | Cue::RepeatContact
                | Cue::BrokenPromise
                | Cue::EscalationRequest
                | Cue::PublicShaming
        )
    }
}

const NUM: &str = r"(?:\d+|two|three|four|five|six|several|many|multiple|deux|trois|quatre|cinq|six|plusieurs)";

fn re(pattern: &str) -> Regex {
    Regex::new(&pattern.replace("{NUM}", NUM)).expect("the cue patterns are valid")
}

/// Patterns per cue, matched on lowercased, accent-folded text with straight apostrophes.
static PATTERNS: LazyLock<Vec<(Cue, Regex)>> = LazyLock::new(|| {
    vec![
        (
            Cue::ThreatToLeave,
            re(concat!(
                r"\b(?:i|we)(?:'ll| will|'m| am|'re| are| are going to|'m going to| am going to| shall|'d rather| want to| wish to|'d like to| would like to) ",
                r"(?:just |simply |probably |definitely |seriously |have to |be forced to )?(?:be )?(?:cancel+(?:ing|ling)?|switch(?:ing)?|leav(?:e|ing)|mov(?:e|ing) (?:to|our|my)|terminat(?:e|ing)|clos(?:e|ing) (?:my|our) account)",
                r"|\b(?:won't|will not|not going to|don't intend to|do not intend to) (?:be )?renew",
                r"|\bnot (?:be )?renewing\b|\btake (?:my|our) (?:business|money) elsewhere|\blook(?:ing)? elsewhere",
                r"|\b(?:another|a different|a new) (?:provider|supplier|bank|carrier|company|operator)\b",
                r"|\b(?:cancel|end|terminate) (?:my|our|the) (?:subscription|contract|account|plan|membership)\b(?:[^?]*$)",
                r"|\bdone with (?:you|this company|your)|\bfind (?:someone|somebody|a company) else|\bswitch(?:ing)? to (?:a )?competitor",
                r"|\bresili|\bne (?:le |la |les )?renouvel\w* pas|\bpas (?:de )?renouvel|\bne pas renouvel",
                r"|\bchanger? d'(?:operateur|opérateur|fournisseur|assureur|banque)|\bchanger de (?:fournisseur|banque|prestataire|crémerie|cremerie)",
                r"|\b(?:aller|irai|vais|allons) voir ailleurs|\bvoir ailleurs\b|\b(?:passer|passe|passerai|partir|pars|partirai) (?:chez|a) la concurrence",
                r"|\bje (?:m'en vais|pars) chez|\bmettre fin (?:a|au|à) (?:mon|notre|l')|\b(?:fermer|clore|cloturer) (?:mon|notre) compte",
                r"|\b(?:annuler|arreter|stopper) (?:mon|notre) (?:abonnement|contrat|forfait)\b(?:[^?]*$)|\bcanceller|\bdernier(?:e)? chance"
            )),
        ),
        (
            Cue::LegalThreat,
            re(concat!(
                r"\bcharge ?back|\bdispute (?:the|this) (?:charge|payment|transaction)|\b(?:my|our) bank (?:will|to) (?:reverse|dispute)",
                r"|\blawyer|\battorney|\bsolicitor|\blegal action|\bsue (?:you|them)|\bsmall claims|\bconsumer (?:protection|rights|affairs)",
                r"|\btrading standards|\bombudsman|\bbetter business bureau|\bbbb\b|\bregulator|\bfcc\b|\bftc\b|\bofcom\b|\bfile a (?:formal )?complaint",
                r"|\bavocat|\bporter plainte|\bdeposer (?:une )?plainte|\bplainte (?:aupres|contre|officielle)|\bmise en demeure|\btribunal|\bjustice\b",
                r"|\bmediateur|\bmediation de|\bufc|\bque choisir|\b60 millions|\bdgccrf|\b(?:faire |fait )?opposition (?:bancaire|aupres|sur)",
                r"|\bhuissier|\bconciliateur|\bprotection du consommateur|\bsignal ?conso|\brecours (?:juridique|en justice)"
            )),
        ),
        (
            Cue::RepeatContact,
            re(concat!(
                r"\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|nth) (?:time|call|email|e-mail|message|attempt|contact|request)",
                r"|\bhow many (?:more )?times|\b(?:already|previously) (?:told|explained|called|contacted|written|wrote|sent|reported|asked|raised|given)",
                r"|\b(?:yet|once) again\b|\bagain and again|\bkeep (?:having to|calling|writing|chasing|contacting)|\b{NUM} times\b",
                r"|\b(?:every|each) time i (?:call|write|contact)|\bchas(?:e|ing) (?:you|this|it) (?:up|again)",
                r"|\b(?:deuxieme|troisieme|quatrieme|cinquieme|2e|3e|4e|5e|2eme|3eme|4eme) (?:fois|appel|relance|message|mail|courriel|contact|demande)",
                r"|\bencore une fois|\bune (?:fois|enieme fois) de plus|\bcombien de fois|\bdeja (?:explique|appele|ecrit|contacte|signale|dit|envoye|demande|relance)",
                r"|\ba plusieurs reprises|\b{NUM} fois\b|\bje (?:vous )?relance|\bnouvelle relance|\benieme"
            )),
        ),
        (
            Cue::BrokenPromise,
            re(concat!(
                r"\b(?:you|they|he|she|your (?:agent|colleague|team|rep)) (?:promised|swore|assured|guaranteed)|\bwas promised|\bwere promised",
                r"|\b(?:i|we) (?:was|were) told\b|\b(?:you|they) (?:said|told me|told us) (?:you|they|it|i|we|that)",
                r"|\bstill (?:no|not|haven't|hasn't|have not|has not)\b[^.!?]{0,30}\b(?:call|callback|refund|reply|response|credit|replacement|update|email|e-mail|technician|engineer|heard|received|got)",
                r"|\b(?:no(?:body|one)|no one) (?:has )?(?:called|rang|got back|came|showed up|replied)|\bnever (?:called|got back|heard back|came|showed up|arrived|received)",
                r"|\bwas (?:supposed|meant) to|\bwere (?:supposed|meant) to|\bsupposed to (?:call|send|refund|come|fix|be)",
                r"|\b(?:vous|on) m'(?:aviez|avait|a|avez) (?:promis|dit|assure|garanti)|\bpromis\b|\bpromesse",
                r"|\btoujours pas (?:d'|de |eu )(?:appel|rappel|remboursement|reponse|nouvelles|retour|credit|avoir|geste|technicien|colis|remplacement)",
                r"|\b(?:personne|jamais) (?:ne )?(?:m'a |nous a |n'a )?(?:rappele|rappelé|recontacte|venu)|\bjamais (?:eu|recu) (?:de |d')",
                r"|\b(?:etait|était) cense|\bdevai(?:t|ent|ez) (?:me|nous) (?:rappeler|rembourser|envoyer|contacter)"
            )),
        ),
        (
            Cue::EscalationRequest,
            re(concat!(
                r"\b(?:manager|supervisor|someone (?:senior|in charge|more senior)|higher up|your boss|team lead(?:er)?)\b",
                r"|\bescalat|\b(?:real|actual) (?:person|human)|\bspeak (?:to|with) (?:a human|someone who)|\bcomplaints? department",
                r"|\b(?:un|votre|le|au) (?:responsable|superieur|manager)|\bvotre hierarchie|\bla direction\b|\bescalad",
                r"|\bun (?:vrai )?humain|\bune vraie personne|\bservice (?:des )?reclamations?|\bparler a quelqu'un"
            )),
        ),
        (
            Cue::LongWait,
            re(concat!(
                r"\b(?:for|over|in|since|nearly|almost) {NUM} (?:days|weeks|months|hours)\b|\b{NUM} (?:days|weeks|months) (?:now|later|of)",
                r"|\bfor (?:days|weeks|months|ages)\b|\bon hold\b|\b(?:still|been|keep) waiting|\bwaiting (?:since|for (?:a |an )?(?:reply|answer|response|days|weeks))",
                r"|\b(?:no|zero) (?:reply|response|answer|news) (?:yet|since|for)|\bhaven't heard (?:anything|back|a thing)",
                r"|\bdepuis (?:{NUM}|des|quinze|trois|dix) (?:jours|semaines|mois|heures)|\ben attente (?:depuis|de)|\bj'attends\b|\b(?:ca|cela) fait {NUM} (?:jours|semaines|mois)",
                r"|\bsans (?:aucune )?(?:reponse|nouvelles|retour)|\baucune (?:reponse|nouvelle)|\bdepuis des (?:jours|semaines|mois)|\bau telephone pendant"
            )),
        ),
        (
            Cue::PublicShaming,
            re(concat!(
                r"\b(?:leave|leaving|post|posting|write|writing|give|giving) (?:a |an |my )?(?:bad |negative |1[- ]star |one[- ]star |honest )?review",
                r"|\b(?:1|one)[- ]star\b|\btrustpilot|\bsocial media|\b(?:tell|warn) (?:everyone|everybody|all my|people)|\bgo(?:ing)? public",
                r"|\bthe press\b|\bjournalist|\bname and shame|\bon (?:twitter|x|facebook|reddit|tiktok|linkedin)\b",
                r"|\b(?:laisser|mettre|poster|ecrire) (?:un )?(?:avis|commentaire) (?:negatif|sur)|\bune etoile|\b1 etoile|\breseaux sociaux",
                r"|\bfaire savoir|\bmauvaise publicite|\bla presse\b|\bjournaliste|\ben parler (?:autour de moi|partout)"
            )),
        ),
    ]
});

static IRONIC: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"🙄|👏|🤡|\bthanks for nothing|\bthank you for nothing|\bgreat job\b|\bwell done\b|\bnice one\b|\bgenius\b|\bslow clap",
        r"|\bwow,? just wow|\bas (?:usual|always)\b|\boh (?:great|perfect|wonderful|joy)\b|\bjust (?:great|perfect|brilliant|what i needed)",
        r"|\bmerci pour rien|\bbravo\b|\bchapeau\b|\bbien joue|\bgenial\b|\bsuper\b|\bcomme d'hab|\bcomme toujours|\bquel (?:bonheur|plaisir)",
        r"|\bmerci (?:du|pour le) (?:cadeau|service)|\bvraiment (?:pratique|top)"
    ))
});
static COMPLAINT: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:again|another|still|broke|broken|crash|offline|charged|twice|never|waiting|down|failed|lost|error|bug|nothing|useless)",
        r"|\b(?:encore|toujours|jamais|panne|plante|hors ligne|facture|erreur|bug|perdu|casse|rien|inutile|attente|double)"
    ))
});

/// Whether the text shouts: two or more words in capitals (codes like `E-2231` aside), or `!!!`, `?!`.
pub fn shouts(text: &str) -> bool {
    let caps = text
        .split_whitespace()
        .filter(|w| {
            let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
            letters.len() >= 3 && letters.iter().all(|c| c.is_uppercase()) && !w.chars().any(|c| c.is_ascii_digit())
        })
        .count();
    caps >= 2 || text.contains("!!!") || text.contains("?!") || text.contains("!?") || text.matches('!').count() >= 4
}

/// The text as the patterns read it: lowercase, accent-folded, straight apostrophes, single spaces.
pub fn normalise(text: &str) -> String {
    let lower = fold(&text.to_lowercase()).replace(['’', '‘', '`'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The cues a text shows, in [`Cue::ALL`] order. A question ("how do I cancel?") threatens nothing; `sarcasm`
/// needs ironic praise beside a complaint.
pub fn detect(text: &str) -> Vec<Cue> {
    let norm = normalise(text);
    let statements: String = crate::domain::text::sentences(&norm)
        .into_iter()
        .filter(|s| !s.trim_end().ends_with('?'))
        .collect::<Vec<_>>()
        .join(" ");
    let mut found: Vec<Cue> = PATTERNS
        .iter()
        .filter(|(c, p)| p.is_match(if *c == Cue::ThreatToLeave { &statements } else { &norm }))
        .map(|(c, _)| *c)
        .collect();
    if IRONIC.is_match(&norm) && COMPLAINT.is_match(&norm) {
        found.push(Cue::Sarcasm);
    }
    if shouts(text) {
        found.push(Cue::Shouting);
    }
    found.sort();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(text: &str, cue: Cue) -> bool {
        detect(text).contains(&cue)
    }

    #[test]
    fn threats_to_leave_in_both_languages_but_not_questions_about_cancelling() {
        assert!(has(
            "Without a concrete answer by Monday we will not renew.",
            Cue::ThreatToLeave
        ));
        assert!(has("I'm cancelling my subscription today.", Cue::ThreatToLeave));
        assert!(has("Otherwise I'll just cancel.", Cue::ThreatToLeave));
        assert!(has(
            "Sans réponse concrète avant le 1er décembre, nous ne renouvellerons pas.",
            Cue::ThreatToLeave
        ));
        assert!(has("Je vais résilier et aller voir ailleurs.", Cue::ThreatToLeave));
        assert!(!has("How do I cancel my subscription?", Cue::ThreatToLeave));
        assert!(!has("Comment annuler mon abonnement ?", Cue::ThreatToLeave));
    }

    #[test]
    fn broken_promises_repeat_contacts_and_legal_threats() {
        assert!(has("Toujours pas d'appel.", Cue::BrokenPromise));
        assert!(has("You promised a callback within 48 hours.", Cue::BrokenPromise));
        assert!(has("Troisième contact en quinze jours.", Cue::RepeatContact));
        assert!(has("This is the third time I write about this.", Cue::RepeatContact));
        assert!(has("I'll do a chargeback with my bank.", Cue::LegalThreat));
        assert!(has("Je saisis le médiateur.", Cue::LegalThreat));
        assert!(has("I want to speak to a manager.", Cue::EscalationRequest));
        assert!(has("J'attends depuis trois semaines.", Cue::LongWait));
    }

    #[test]
    fn sarcasm_needs_a_complaint_and_shouting_ignores_codes() {
        assert!(has("Great job, the hub is offline again 👏", Cue::Sarcasm));
        assert!(!has("Great job, thanks a lot!", Cue::Sarcasm));
        assert!(has("THIS IS UNACCEPTABLE", Cue::Shouting));
        assert!(!has("Error E-2231 on the LOCK", Cue::Shouting));
    }
}
