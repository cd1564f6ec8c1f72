//! Retrieval: owns finding the entries a visitor's question is about and deciding what to do
//! with them (answer / suggest / escalate). Pure computation on vectors and text; no IO, no
//! model: callers embed the question and hand the vector in.
//!
//! Flow: [`Index::rank`] scores every entry (dense similarity fused with BM25, mixed with the
//! trained answer model's probability when the knowledge base has one), then
//! [`Policy::decide`] turns the ranking into an [`Outcome`] from absolute scores and the margin
//! between the two best entries. [`calibrate`] picks the policy's thresholds from the knowledge
//! base's own phrasings.

pub mod calibrate;
pub mod confidence;
pub mod dense;
pub mod early;
pub mod head;
pub mod lexical;
mod policy;

pub use calibrate::{calibrate, Calibration};
pub use confidence::{Confidence, ConfidenceError};
pub use dense::Vectors;
pub use head::{Head, HeadError, Rows as HeadRows};
pub use lexical::{Bm25, Lang};
pub use policy::{Outcome, Policy};

use crate::kb::Entry;

/// Cosine similarity at which two phrasings ask the same thing, on the model's scale. Two
/// entries with such phrasings contradict each other: the linter reports them and calibration
/// leaves them out.
///
/// For all-MiniLM-L6-v2, rewordings like "card not arrived" / "card has not arrived yet" score
/// above 0.95. multilingual-e5's cosines crowd near 1 (unrelated questions 0.75 to 0.85): the
/// phrasing pairs MiniLM puts at 0.95 or more it puts at a median 0.984 (BANKING77's
/// phrasings), and the same share of phrasings has a neighbour in another entry above 0.981 to
/// 0.983 (BANKING77, Bitext). At 0.95 it called a quarter of BANKING77's phrasings conflicts,
/// and calibration left the known questions most easily confused out.
pub fn near_duplicate(multilingual: bool) -> f32 {
    if multilingual {
        0.98
    } else {
        0.95
    }
}

/// One entry's scores for a question.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scored {
    /// Index into the knowledge base's entries.
    pub entry: usize,
    /// What the policy decides on: `dense` and `lexical` fused.
    pub score: f32,
    /// Cosine similarity to the entry's phrasings (see [`Index::rank`]).
    pub dense: f32,
    /// Share of the question's words found in the entry, BM25-weighted, 0 to 1.
    pub lexical: f32,
    /// The trained answer model's probability for the entry among those ranked (0 without one,
    /// see [`head`]).
    pub trained: f32,
    /// The trained answer model's probability that the question is about none of the ranked
    /// entries, against them: the same on every entry of a ranking (0 without a model with
    /// that row, see [`Head::probabilities`]).
    #[serde(skip)]
    pub none: f32,
    /// The question and the entry are in two languages (both known, see
    /// [`lexical::guess_language`]): no shared word is to be expected.
    #[serde(skip)]
    pub other_language: bool,
}

/// A visitor's question as retrieval needs it: its embedding and its words.
pub struct Query {
    vector: Vec<f32>,
    words: Vec<Vec<String>>,
    lang: Option<Lang>,
}

impl Query {
    /// `vector` is the question's unit-length sentence embedding.
    pub fn new(text: &str, vector: Vec<f32>) -> Query {
        Query {
            vector,
            words: lexical::query_terms(text),
            lang: lexical::guess_language(text),
        }
    }

    /// The question's language, when its words tell.
    pub fn language(&self) -> Option<Lang> {
        self.lang
    }
}

/// The searchable form of a knowledge base: every phrasing's vector and a BM25 index over
/// phrasings and answers, each row knowing its entry.
///
/// Invariant: lexical document `i` is phrasing `i` for every phrasing; the documents after the
/// phrasings are answers. Calibration relies on it to leave one phrasing out of both.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    entries: usize,
    /// Each entry's language (primary subtag, lower case), when the source says.
    languages: Vec<Option<String>>,
    /// Each entry's language as far as this crate can tell: the source's tag, else a guess
    /// from its words. Only to tell a question in another language, never to leave entries out.
    written_in: Vec<Option<Lang>>,
    vectors: Vectors,
    phrasing_entry: Vec<u32>,
    lexical: Bm25,
    document_entry: Vec<u32>,
    /// One vector per entry: its first question followed by its answer, read as one text (see
    /// [`Index::rank`]); None in bundles from before them.
    readings: Option<Vectors>,
    /// The trained answer model, when the build found it helps (see [`calibrate`]).
    head: Option<Head>,
}

impl Index {
    /// Indexes `entries`; `vectors` holds their phrasings' embeddings in order (every entry's
    /// phrasings, entry after entry).
    pub fn build(entries: &[Entry], vectors: Vectors) -> Index {
        let docs = entries
            .iter()
            .flat_map(|e| e.phrasings.iter().map(move |p| entry_terms(p, e)))
            .chain(entries.iter().map(|e| entry_terms(&e.answer, e)))
            .collect::<Vec<_>>();
        Index::from_parts(entries, vectors, Bm25::new(docs)).expect("one vector per phrasing")
    }

    /// Reassembles an index of `entries` from its stored parts, checking they fit together.
    /// Which entry each row belongs to follows from the entries' order, so it is derived here.
    pub fn from_parts(entries: &[Entry], vectors: Vectors, lexical: Bm25) -> Result<Index, String> {
        let phrasing_entry: Vec<u32> = entries
            .iter()
            .enumerate()
            .flat_map(|(i, e)| std::iter::repeat_n(i as u32, e.phrasings.len()))
            .collect();
        if phrasing_entry.len() != vectors.len() {
            return Err(format!(
                "{} vectors for {} phrasings",
                vectors.len(),
                phrasing_entry.len()
            ));
        }
        lexical.check()?;
        let mut document_entry = phrasing_entry.clone();
        document_entry.extend(0..entries.len() as u32);
        if document_entry.len() != lexical.len() {
            return Err("the lexical index does not match the phrasings".into());
        }
        let written_in = entries
            .iter()
            .map(|e| match e.lang.as_deref() {
                Some(tag) => Lang::from_tag(tag),
                None => lexical::guess_language(&format!("{} {}", e.phrasings.join(" "), e.answer)),
            })
            .collect();
        Ok(Index {
            entries: entries.len(),
            languages: languages_of(entries),
            written_in,
            vectors,
            phrasing_entry,
            lexical,
            document_entry,
            readings: None,
            head: None,
        })
    }

    /// The index with its entries' readings (see [`Index::rank`]): one vector per entry, of
    /// the phrasings' dimension.
    pub fn with_readings(self, readings: Vectors) -> Result<Index, String> {
        if readings.len() != self.entries || readings.dim() != self.vectors.dim() {
            return Err(format!(
                "{} readings of dimension {} for {} entries of dimension {}",
                readings.len(),
                readings.dim(),
                self.entries,
                self.vectors.dim()
            ));
        }
        Ok(Index {
            readings: Some(readings),
            ..self
        })
    }

    pub fn readings(&self) -> Option<&Vectors> {
        self.readings.as_ref()
    }

    /// The index with a trained answer model over its entries.
    pub fn with_head(self, head: Head) -> Result<Index, String> {
        if head.entries() != self.entries {
            return Err(format!(
                "the trained answer model has {} entries, the knowledge base {}",
                head.entries(),
                self.entries
            ));
        }
        Ok(Index {
            head: Some(head),
            ..self
        })
    }

    pub fn head(&self) -> Option<&Head> {
        self.head.as_ref()
    }

    pub fn entries(&self) -> usize {
        self.entries
    }

    pub fn vectors(&self) -> &Vectors {
        &self.vectors
    }

    pub fn phrasing_entry(&self) -> &[u32] {
        &self.phrasing_entry
    }

    pub fn lexical(&self) -> &Bm25 {
        &self.lexical
    }

    /// Every entry scored for `query`, best first (ties by entry order).
    ///
    /// An entry's dense score is its best phrasing's cosine; with three or more phrasings it is
    /// the mean of the best two, so one stray phrasing cannot carry an entry on its own (on
    /// BANKING77 this alone lifts top-1 from 92.0% to 92.7%). Its lexical score is its best
    /// document's BM25 over [`Bm25::ceiling`]. The two are mixed with `lexical_weight`.
    ///
    /// With readings and `policy.answer_weight` a above 0, the dense score is `(1 - a)` times
    /// the phrasings' plus `a` times the cosine with the entry's reading (its question followed
    /// by its answer): a FAQ with one question per entry says what each entry covers mostly in
    /// its answers (on FAQs written that way, top-1 rose from 59-71% to 68-85%), while an
    /// entry with a hundred phrasings is better told by them (calibration decides, per
    /// knowledge base).
    ///
    /// With a trained answer model and `policy.trained_weight` above 0, the fused score is
    /// mixed with the model's probability times the dense score (see [`mix`]).
    ///
    /// With `lang` (a BCP 47 tag), only entries in that language or with none count, so a
    /// bilingual FAQ answers each visitor from their language's entries; a language no entry
    /// has counts them all.
    pub fn rank(&self, query: &Query, policy: &Policy, lang: Option<&str>) -> Vec<Scored> {
        let (sims, shares) = self.similarities(query);
        let only = lang.and_then(|l| self.in_language(l));
        let scope = Scope {
            only: only.as_deref(),
            ..Scope::default()
        };
        let read = self
            .readings
            .as_ref()
            .filter(|_| policy.answer_weight > 0.0 && query.has_vector())
            .map(|r| r.similarities(&query.vector));
        let mut ranked = self.aggregate(
            &sims,
            &shares,
            read.as_deref().map(|r| (r, policy.answer_weight)),
            policy.lexical_weight,
            &scope,
            query.lang,
        );
        if let Some(head) = self
            .head
            .as_ref()
            .filter(|_| policy.trained_weight > 0.0 && query.has_vector())
        {
            let (p, none) = head.probabilities(&query.vector, ranked.iter().map(|s| s.entry));
            mix(&mut ranked, &p, none, policy.trained_weight);
        }
        ranked
    }

    /// The outcome for `query` under `policy`, with the ranking it was decided on.
    ///
    /// With `lang` (the visitor's BCP 47 tag), the entries in that language are ranked (see
    /// [`Index::rank`]); when none matches, all entries are, since a visitor may write in
    /// another language than the page's. A multilingual model then finds the other language's
    /// twins of entries that did not match: only a confident answer is worth more than "I
    /// don't know", never a guess. Unless the question is written in the answer's language,
    /// it is given from the visitor's language when that has the answer's twin (see
    /// [`Index::twin`]): the same answer in the visitor's words.
    ///
    /// The language the question's words read as (see [`Query::language`]), when some entries
    /// are in it, comes before `lang`: a visitor who writes Spanish on the English pages reads
    /// Spanish, and without `lang` (`ayuda ask` and `eval` without `--lang`) ranking both
    /// languages together let the other language's twins, scored on meaning alone while the
    /// visitor's own entries are weighed on shared words too, outrank them (a bilingual
    /// clinic's FAQ asked without a language: top-1 42%, 8% wrong answers; with the guess,
    /// 75% and 1.5%).
    pub fn decide(
        &self,
        query: &Query,
        policy: &Policy,
        lang: Option<&str>,
    ) -> (Vec<Scored>, Outcome) {
        let lang = query
            .lang
            .map(Lang::tag)
            .filter(|&tag| self.has_language(tag))
            .or(lang);
        let ranked = self.rank(query, policy, lang);
        let outcome = policy.decide(&ranked);
        let Some(lang) = lang.filter(|_| outcome == Outcome::Escalate) else {
            return (ranked, outcome);
        };
        let all = self.rank(query, policy, None);
        match policy.decide(&all) {
            Outcome::Suggest(_) if !policy.shared_word => (ranked, Outcome::Escalate),
            Outcome::Answer(best) => {
                // A visitor who wrote in the answer's language (a Spanish question on the
                // English pages) reads that language: its entry is the answer as it stands.
                let in_their_words =
                    query.lang.is_some() && query.lang == self.written_in[best.entry];
                let twin = (!in_their_words)
                    .then(|| self.twin(best.entry, lang))
                    .flatten()
                    .and_then(|t| ranked.iter().find(|s| s.entry == t).copied());
                match twin {
                    Some(twin) => (ranked, Outcome::Answer(twin)),
                    None => (all, Outcome::Answer(best)),
                }
            }
            outcome => (all, outcome),
        }
    }

    /// Whether some entry is in language `lang`.
    fn has_language(&self, lang: &str) -> bool {
        let lang = primary(lang);
        self.languages.iter().any(|l| l.as_deref() == Some(&lang))
    }

    /// The entries in language `lang` or in none; None when no entry is in `lang`.
    pub(crate) fn in_language(&self, lang: &str) -> Option<Vec<bool>> {
        if !self.has_language(lang) {
            return None;
        }
        let lang = primary(lang);
        Some(
            self.languages
                .iter()
                .map(|l| l.as_deref().is_none_or(|l| l == lang))
                .collect(),
        )
    }

    /// The entries a visitor asking about entry `entry` in its language is answered from
    /// (see [`Index::rank`]); None when the entry has no language (all entries).
    pub(crate) fn alongside(&self, entry: usize) -> Option<Vec<bool>> {
        self.languages[entry]
            .as_deref()
            .and_then(|l| self.in_language(l))
    }

    /// The entry of language `lang` that is `entry` written in that language: the nearest
    /// there to `entry`'s phrasings taken together, provided `entry` is in turn the nearest to
    /// its phrasings among the entries of `entry`'s language. Mutual, so a topic `lang` lacks
    /// has no twin however close its nearest entry there. None when `entry` has no language
    /// or is in `lang`, or no entry is in `lang`.
    pub fn twin(&self, entry: usize, lang: &str) -> Option<usize> {
        let there = self.in_language(lang)?;
        let here = self.alongside(entry)?;
        if there[entry] {
            return None;
        }
        let forth = self.nearest(entry, &there)?;
        (self.nearest(forth, &here)? == entry).then_some(forth)
    }

    /// The entry among `only` nearest `entry`'s phrasings: their mean vector asked as a
    /// question, scored on meaning as [`Index::rank`] scores it.
    fn nearest(&self, entry: usize, only: &[bool]) -> Option<usize> {
        let mut mean = vec![0f32; self.vectors.dim()];
        for (i, _) in self
            .phrasing_entry
            .iter()
            .enumerate()
            .filter(|&(_, &e)| e as usize == entry)
        {
            for (m, v) in mean.iter_mut().zip(self.vectors.row(i)) {
                *m += v;
            }
        }
        let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
        if !norm.is_normal() {
            return None;
        }
        mean.iter_mut().for_each(|v| *v /= norm);
        let scope = Scope {
            only: Some(only),
            ..Scope::default()
        };
        let no_words = vec![0.0; self.document_entry.len()];
        let sims = self.vectors.similarities(&mean);
        let ranked = self.aggregate(&sims, &no_words, None, 0.0, &scope, None);
        ranked.first().map(|s| s.entry)
    }

    /// Per phrasing cosine, and per lexical document the share of the query it matches.
    /// Without a vector (the early tier), every cosine is 0.
    pub(crate) fn similarities(&self, query: &Query) -> (Vec<f32>, Vec<f32>) {
        let sims = if query.has_vector() {
            self.vectors.similarities(&query.vector)
        } else {
            vec![0.0; self.vectors.len()]
        };
        (sims, self.shares(query))
    }

    /// Per lexical document, the share of the query's words it matches.
    pub(crate) fn shares(&self, query: &Query) -> Vec<f32> {
        let ceiling = self.lexical.ceiling(&query.words);
        if ceiling > 0.0 {
            let raw = self.lexical.scores(&query.words);
            raw.iter().map(|s| (s / ceiling).min(1.0)).collect()
        } else {
            vec![0.0; self.document_entry.len()]
        }
    }

    /// Entry scores from [`Index::similarities`] within `scope`; `readings`, when given, holds
    /// each entry's reading's cosine and the share it takes of the dense score.
    pub(crate) fn aggregate(
        &self,
        sims: &[f32],
        shares: &[f32],
        readings: Option<(&[f32], f32)>,
        lexical_weight: f32,
        scope: &Scope,
        query_lang: Option<Lang>,
    ) -> Vec<Scored> {
        let skip_phrasing =
            |i: usize| scope.phrasing == Some(i) || scope.held_out.is_some_and(|out| out[i]);
        let skip_entry = |e: u32| scope.only.is_some_and(|only| !only[e as usize]);
        // Best two similarities and phrasing count per entry.
        let mut best = vec![(f32::NEG_INFINITY, f32::NEG_INFINITY, 0u32); self.entries];
        for (i, (&s, &e)) in sims.iter().zip(&self.phrasing_entry).enumerate() {
            if skip_phrasing(i) || skip_entry(e) {
                continue;
            }
            let b = &mut best[e as usize];
            if s > b.0 {
                b.1 = b.0;
                b.0 = s;
            } else if s > b.1 {
                b.1 = s;
            }
            b.2 += 1;
        }
        let mut lexical = vec![0f32; self.entries];
        for (d, (&s, &e)) in shares.iter().zip(&self.document_entry).enumerate() {
            // Documents past the phrasings are answers, never held out.
            if (d < sims.len() && skip_phrasing(d)) || skip_entry(e) {
                continue;
            }
            let l = &mut lexical[e as usize];
            *l = l.max(s);
        }
        let mut out: Vec<Scored> = best
            .iter()
            .zip(lexical)
            .enumerate()
            .filter(|(_, ((_, _, n), _))| *n > 0)
            .map(|(i, (&(b1, b2, n), lex))| {
                let phrasings = if n >= 3 { (b1 + b2) / 2.0 } else { b1 };
                let dense = match readings {
                    Some((r, a)) => dense_score(phrasings, r[i], a),
                    None => phrasings,
                };
                let other_language = matches!(
                    (query_lang, self.written_in[i]),
                    (Some(q), Some(e)) if q != e
                );
                // Words cannot match across languages: an entry in another language is scored
                // on meaning alone rather than docked for the words it could never share.
                let w = if other_language { 0.0 } else { lexical_weight };
                Scored {
                    entry: i,
                    score: fused_score(dense, lex, w),
                    dense,
                    lexical: lex,
                    trained: 0.0,
                    none: 0.0,
                    other_language,
                }
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        out
    }
}

/// What a ranking leaves out.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scope<'a> {
    /// Only the entries marked true (the visitor's language).
    pub only: Option<&'a [bool]>,
    /// This phrasing, as if the owner had not written it: "a visitor asked this in other words".
    pub phrasing: Option<usize>,
    /// The phrasings marked true, as if the owner had not written them (a cross-validation
    /// fold's held-out phrasings).
    pub held_out: Option<&'a [bool]>,
}

/// Mixes the trained answer model into `ranked` (from [`Index::aggregate`]), re-sorted: each
/// entry's probability among the ranked entries (`p`, in `ranked`'s order, see
/// [`Head::probabilities`]), times its dense score, counts `weight`; the fused score the
/// rest. The product keeps an entry the question is far from low however sure the layer is:
/// a softmax always picks someone, even for a question no entry is about. The probability of
/// "none of them" (`none`) is kept beside, for the learned confidence.
pub(crate) fn mix(ranked: &mut [Scored], p: &[f32], none: f32, weight: f32) {
    for (s, &p) in ranked.iter_mut().zip(p) {
        s.trained = p;
        s.none = none;
        s.score = mixed_score(s.score, p, s.dense, weight);
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
}

// The score's parts, each written once: `rank` and the calibration's simulation (which mixes
// the same parts at every weight it tries) must compute the same bits.

/// An entry's dense score: its phrasings' with `answer` share of its reading's cosine.
pub(crate) fn dense_score(phrasings: f32, reading: f32, answer: f32) -> f32 {
    if answer > 0.0 {
        (1.0 - answer) * phrasings + answer * reading
    } else {
        phrasings
    }
}

/// Dense and lexical scores fused, the lexical one counting `lexical_weight`.
pub(crate) fn fused_score(dense: f32, lexical: f32, lexical_weight: f32) -> f32 {
    (1.0 - lexical_weight) * dense + lexical_weight * lexical
}

/// A fused score mixed with the trained model's probability `p` times the dense score, the
/// latter counting `weight` (see [`mix`]).
pub(crate) fn mixed_score(fused: f32, p: f32, dense: f32, weight: f32) -> f32 {
    (1.0 - weight) * fused + weight * p * dense
}

/// A language tag's primary subtag, lower case: "es-ES" -> "es".
fn primary(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn languages_of(entries: &[Entry]) -> Vec<Option<String>> {
    entries
        .iter()
        .map(|e| e.lang.as_deref().map(primary).filter(|l| !l.is_empty()))
        .collect()
}

/// An entry text's index terms, in the entry's language when it has one of ours.
fn entry_terms(text: &str, entry: &Entry) -> Vec<String> {
    match entry.lang.as_deref().and_then(Lang::from_tag) {
        Some(lang) => lexical::terms(text, lang),
        None => lexical::terms_any_language(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::Origin;

    fn entry(id: &str, lang: Option<&str>, phrasings: usize) -> Entry {
        Entry {
            id: id.into(),
            phrasings: (0..phrasings).map(|i| format!("{id} {i}")).collect(),
            answer: id.into(),
            url: None,
            category: None,
            lang: lang.map(Into::into),
            handoff: false,
            origin: Origin {
                file: "faq.csv".into(),
                line: 2,
            },
        }
    }

    fn unit(v: [f32; 4]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// Spanish hours and payment, their English twins, English-only parking, and an entry
    /// without a language.
    fn bilingual() -> Index {
        let entries = [
            entry("horario", Some("es"), 2),
            entry("pago", Some("es-ES"), 1),
            entry("hours", Some("en"), 2),
            entry("pay", Some("en"), 1),
            entry("parking", Some("en"), 1),
            entry("misc", None, 1),
        ];
        let rows = [
            unit([1.0, 0.1, 0.0, 0.0]),
            unit([1.0, 0.0, 0.1, 0.0]),
            unit([0.1, 1.0, 0.0, 0.0]),
            unit([0.9, 0.2, 0.1, 0.0]),
            unit([0.9, 0.1, 0.2, 0.0]),
            unit([0.2, 0.9, 0.1, 0.0]),
            // Nearer payment than hours, but payment's twin is nearer payment still.
            unit([0.1, 0.6, 0.8, 0.0]),
            unit([0.0, 0.0, 0.0, 1.0]),
        ];
        Index::build(&entries, Vectors::quantise(&rows, 4))
    }

    #[test]
    fn twins_are_mutual_nearest_entries_across_languages() {
        let index = bilingual();
        assert_eq!(index.twin(2, "es"), Some(0), "hours -> horario");
        assert_eq!(index.twin(3, "es-419"), Some(1), "pay -> pago");
        assert_eq!(index.twin(1, "en"), Some(3), "pago -> pay");
        // Parking's nearest Spanish entry is payment, whose nearest English one is pay.
        assert_eq!(index.twin(4, "es"), None);
        // Same language, no language, a language no entry has.
        assert_eq!(index.twin(0, "es"), None);
        assert_eq!(index.twin(5, "es"), None);
        assert_eq!(index.twin(2, "fr"), None);
    }

    #[test]
    fn a_confident_answer_from_another_language_comes_from_its_twin() {
        let index = bilingual();
        // Only a near-exact match answers; nothing else is suggested.
        let policy = Policy {
            answer_at: 0.99,
            margin: 0.0,
            suggest_at: 0.99,
            lexical_weight: 0.0,
            shared_word: false,
            trained_weight: 0.0,
            answer_weight: 0.0,
            confidence: None,
        };
        let answer = |text: &str, row: usize, lang: Option<&str>| {
            let query = Query::new(text, index.vectors().row(row));
            match index.decide(&query, &policy, lang).1 {
                Outcome::Answer(s) => Some(s.entry),
                _ => None,
            }
        };
        // An English visitor asking exactly an English phrasing gets it.
        assert_eq!(answer("hours 0", 3, Some("en")), Some(2));
        // A Spanish visitor asking it: no Spanish entry is that close, but the English answer
        // is given from its Spanish twin.
        assert_eq!(answer("hours 0", 3, Some("es")), Some(0));
        // Written in English on the Spanish pages: the visitor reads English, and the reverse.
        assert_eq!(answer("what are the hours 0", 3, Some("es")), Some(2));
        assert_eq!(answer("¿cuál es el horario?", 3, Some("en")), Some(0));
        // Parking has no Spanish twin: the English entry is the answer.
        assert_eq!(answer("parking 0", 6, Some("es")), Some(4));
        // Without a language, the question's words tell it: an English one is answered in
        // English, the same meaning asked in Spanish from the Spanish twin.
        assert_eq!(answer("what are the hours 0", 3, None), Some(2));
        assert_eq!(answer("¿cuál es el horario?", 3, None), Some(0));
        // Words that tell no language rank every entry together.
        assert_eq!(answer("hours 0", 3, None), Some(2));
    }
}
