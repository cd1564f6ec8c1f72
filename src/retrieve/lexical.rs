//! Lexical scoring: BM25 over stemmed terms, for English and Spanish.
//!
//! Entries are indexed with their own language's stemmer. A visitor's language is not known
//! (and short questions hide it), so each query word is looked up under its English and its
//! Spanish stem, and the better match counts: "envíos" and "shipping" both find their entries.

use std::collections::{BTreeMap, HashMap};

use rust_stemmers::{Algorithm, Stemmer};

use crate::text::fold;

/// The languages with a stemmer and stopword list here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// From a BCP 47 tag ("es", "es-ES", "en-GB"); None for other languages.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        match tag.split(['-', '_']).next()?.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The language's BCP 47 primary tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    fn stemmer(self) -> Stemmer {
        Stemmer::create(match self {
            Lang::En => Algorithm::English,
            Lang::Es => Algorithm::Spanish,
        })
    }

    /// Function words that say nothing about the topic. Short, hand-picked lists (accents
    /// folded): the usual stopword lists also drop words like "not" or "cuando" that matter in
    /// support questions ("my card does not work", "¿cuándo llega?"). "What"/"cuál" go: they
    /// open any question, and would let "¿Cuál es la capital de Mongolia?" match a bakery's
    /// "¿Cuál es vuestra dirección?".
    fn is_stopword(self, folded: &str) -> bool {
        const EN: &[&str] = &[
            "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "i",
            "im", "in", "is", "it", "its", "me", "my", "of", "on", "or", "our", "so", "that",
            "the", "this", "to", "was", "we", "what", "which", "with", "you", "your",
        ];
        const ES: &[&str] = &[
            "a", "al", "cual", "cuales", "de", "del", "el", "en", "es", "la", "las", "le", "lo",
            "los", "me", "mi", "mis", "nos", "o", "para", "por", "que", "se", "su", "sus", "te",
            "tu", "un", "una", "y", "yo",
        ];
        match self {
            Lang::En => EN.contains(&folded),
            Lang::Es => ES.contains(&folded),
        }
    }
}

/// The language `text` reads as, from function words only English or only Spanish use and
/// from what only Spanish writes (¿, ¡, ñ); None when the evidence is absent or even, as in
/// "bizum" or "horario?". Good enough to tell whether a question and an entry are in two
/// languages, not to label text.
pub fn guess_language(text: &str) -> Option<Lang> {
    const EN: &[&str] = &[
        "the", "and", "you", "your", "is", "are", "do", "does", "can", "how", "what", "of", "for",
        "with", "my", "we", "our", "it", "to", "in", "on", "i", "when", "where", "have", "will",
        "there", "any", "get", "pay", "open",
    ];
    const ES: &[&str] = &[
        "el", "la", "los", "las", "de", "del", "que", "y", "en", "es", "por", "para", "con", "un",
        "una", "como", "mi", "tu", "su", "se", "hay", "puedo", "no", "lo", "al", "son", "esta",
        "estan", "cuando", "donde", "tienen", "teneis", "hacen", "haceis", "cuanto",
    ];
    let (mut en, mut es) = (0usize, 0usize);
    if text.chars().any(|c| matches!(c, '¿' | '¡' | 'ñ' | 'Ñ')) {
        es += 2;
    }
    for w in words(text) {
        let f = fold(&w);
        en += EN.contains(&f.as_str()) as usize;
        es += ES.contains(&f.as_str()) as usize;
    }
    match en.cmp(&es) {
        std::cmp::Ordering::Greater => Some(Lang::En),
        std::cmp::Ordering::Less => Some(Lang::Es),
        std::cmp::Ordering::Equal => None,
    }
}

/// Lower-cased words of `text`: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// The index terms of `text` in `lang`: stopwords dropped, each word stemmed, accents folded.
pub fn terms(text: &str, lang: Lang) -> Vec<String> {
    let stemmer = lang.stemmer();
    words(text)
        .filter(|w| !lang.is_stopword(&fold(w)))
        .map(|w| fold(&stemmer.stem(&w)))
        .collect()
}

/// The index terms of `text` when its language is not known: each word under every
/// language's stem (once when they agree), so either kind of query finds it.
pub fn terms_any_language(text: &str) -> Vec<String> {
    query_terms(text).into_iter().flatten().collect()
}

/// A query's words, each as its alternative terms (one per language, deduplicated). A word
/// that is a stopword in any language is dropped.
pub fn query_terms(text: &str) -> Vec<Vec<String>> {
    let stemmers: Vec<(Lang, Stemmer)> = Lang::ALL.iter().map(|&l| (l, l.stemmer())).collect();
    words(text)
        .filter(|w| {
            let f = fold(w);
            !Lang::ALL.iter().any(|l| l.is_stopword(&f))
        })
        .map(|w| {
            let mut alts: Vec<String> = stemmers.iter().map(|(_, s)| fold(&s.stem(&w))).collect();
            alts.dedup();
            alts
        })
        .collect()
}

/// BM25 parameters: the usual k1 and b.
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// A BM25 index over documents given as terms.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bm25 {
    doc_len: Vec<f32>,
    avg_len: f32,
    /// term -> (document, term frequency). Ordered, so a bundle built twice from the same
    /// sources is the same bytes.
    postings: BTreeMap<String, Vec<(u32, u32)>>,
}

impl Bm25 {
    pub fn new<I: IntoIterator<Item = Vec<String>>>(docs: I) -> Bm25 {
        let mut doc_len = Vec::new();
        let mut postings: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
        for (d, terms) in docs.into_iter().enumerate() {
            doc_len.push(terms.len() as f32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in terms {
                *tf.entry(t).or_default() += 1;
            }
            for (t, n) in tf {
                postings.entry(t).or_default().push((d as u32, n));
            }
        }
        let avg_len = if doc_len.is_empty() {
            0.0
        } else {
            doc_len.iter().sum::<f32>() / doc_len.len() as f32
        };
        Bm25 {
            doc_len,
            avg_len,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    /// Checks an index read from a file: every posting names a document of the index with a
    /// count of at least one, and every length is a finite number. A posting past the end
    /// would otherwise index out of bounds on the first question with its word.
    pub fn check(&self) -> Result<(), String> {
        let docs = self.doc_len.len();
        if !self.avg_len.is_finite() || self.doc_len.iter().any(|l| !l.is_finite() || *l < 0.0) {
            return Err("the lexical index has a document length that is not a number".into());
        }
        for (term, posting) in &self.postings {
            if let Some(&(d, _)) = posting
                .iter()
                .find(|(d, tf)| *d as usize >= docs || *tf == 0)
            {
                return Err(format!(
                    "the lexical index lists document {d} for \"{term}\", of {docs} documents (or a count of 0)"
                ));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    fn idf(&self, df: usize) -> f32 {
        let n = self.doc_len.len() as f32;
        // exact's ln: the browser and the command line give the same bits.
        crate::exact::ln_at_least_one((n - df as f32 + 0.5) / (df as f32 + 0.5) + 1.0)
    }

    /// The most a document can score for `query`, give or take length normalisation: every
    /// word matched once. A word the index has never seen (under none of its stems) counts at
    /// the rarest weight, so a question made of unknown words matches nothing well. A word the
    /// index has seen counts at its known stems' weight only: the other language's stem of a
    /// Spanish word is rarely in a Spanish FAQ, and counting it as the rarest word would keep
    /// a question from ever matching fully. Dividing by this turns a BM25 score into an
    /// absolute "share of the question matched", comparable across queries.
    pub fn ceiling(&self, query: &[Vec<String>]) -> f32 {
        query
            .iter()
            .map(|alternatives| {
                let known = alternatives
                    .iter()
                    .filter_map(|t| self.postings.get(t))
                    .map(|p| self.idf(p.len()))
                    .fold(None, |m: Option<f32>, w| Some(m.map_or(w, |m| m.max(w))));
                known.unwrap_or_else(|| self.idf(0))
            })
            .sum()
    }

    /// BM25 score of every document for `query` (from [`query_terms`]). For each query word
    /// the alternative that scores higher in a document counts there.
    pub fn scores(&self, query: &[Vec<String>]) -> Vec<f32> {
        let mut total = vec![0f32; self.doc_len.len()];
        let mut word = vec![0f32; self.doc_len.len()];
        for alternatives in query {
            word.iter_mut().for_each(|w| *w = 0.0);
            for term in alternatives {
                let Some(posting) = self.postings.get(term) else {
                    continue;
                };
                let idf = self.idf(posting.len());
                for &(d, tf) in posting {
                    let (d, tf) = (d as usize, tf as f32);
                    let norm = 1.0 - B + B * self.doc_len[d] / self.avg_len.max(1e-6);
                    let s = idf * tf * (K1 + 1.0) / (tf + K1 * norm);
                    word[d] = word[d].max(s);
                }
            }
            total.iter_mut().zip(&word).for_each(|(t, w)| *t += w);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_guessed_from_function_words_or_not_at_all() {
        assert_eq!(guess_language("¿Qué tiempo hará mañana?"), Some(Lang::Es));
        assert_eq!(guess_language("puedo pagar con tarjeta"), Some(Lang::Es));
        assert_eq!(guess_language("Can I pay by card?"), Some(Lang::En));
        assert_eq!(guess_language("bizum"), None);
        assert_eq!(guess_language("horario?"), None);
    }

    fn index(docs: &[(&str, Lang)]) -> Bm25 {
        Bm25::new(docs.iter().map(|(t, l)| terms(t, *l)))
    }

    fn best(index: &Bm25, q: &str) -> usize {
        let s = index.scores(&query_terms(q));
        (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap()
    }

    #[test]
    fn stems_match_across_inflections_in_both_languages() {
        assert_eq!(
            terms("Shipping and shipped orders", Lang::En),
            ["ship", "ship", "order"]
        );
        assert_eq!(
            terms("¿Cuánto tardan los envíos?", Lang::Es),
            ["cuant", "tard", "envi"]
        );
    }

    #[test]
    fn the_right_entry_scores_highest_whatever_the_query_language() {
        let idx = index(&[
            ("¿Cuánto tarda el envío? Envíos a la Península", Lang::Es),
            ("How long does shipping take? Shipping times", Lang::En),
            ("¿Puedo pagar con tarjeta?", Lang::Es),
            ("Can I pay by card?", Lang::En),
        ]);
        assert_eq!(best(&idx, "envio tarda"), 0);
        assert_eq!(best(&idx, "shipping time"), 1);
        assert_eq!(best(&idx, "pagos con tarjetas"), 2);
        assert_eq!(best(&idx, "paying with a card"), 3);
    }

    #[test]
    fn a_posting_past_the_last_document_is_refused_on_check() {
        let good = index(&[("Can I pay by card?", Lang::En), ("Do you ship?", Lang::En)]);
        assert_eq!(good.check(), Ok(()));
        let mut past = good.clone();
        past.postings.get_mut("card").unwrap()[0].0 = 2;
        assert!(past
            .check()
            .unwrap_err()
            .contains("document 2 for \"card\", of 2"));
        let mut zero = good.clone();
        zero.postings.get_mut("ship").unwrap()[0].1 = 0;
        assert!(zero.check().is_err());
        let mut nan = good;
        nan.doc_len[0] = f32::NAN;
        assert!(nan.check().is_err());
    }

    #[test]
    fn unknown_words_score_nothing() {
        let idx = index(&[("Can I pay by card?", Lang::En)]);
        assert_eq!(idx.scores(&query_terms("xyzzy plugh")), [0.0]);
        assert_eq!(idx.scores(&query_terms("")), [0.0]);
    }

    #[test]
    fn rare_terms_weigh_more_than_common_ones() {
        let idx = index(&[
            ("card delivery", Lang::En),
            ("card pin", Lang::En),
            ("card limits", Lang::En),
        ]);
        let s = idx.scores(&query_terms("card pin"));
        assert!(s[1] > s[0] && s[0] == s[2] && s[0] > 0.0, "{s:?}");
    }

    #[test]
    fn the_ceiling_is_what_a_full_match_scores() {
        let idx = index(&[("card pin", Lang::En), ("card limits", Lang::En)]);
        let q = query_terms("card pin");
        let full = idx.scores(&q)[0];
        assert!((full / idx.ceiling(&q) - 1.0).abs() < 0.05, "{full}");
        let unknown = query_terms("card xyzzy");
        assert!(idx.scores(&unknown)[0] / idx.ceiling(&unknown) < 0.5);
    }

    #[test]
    fn language_tags_map_to_stemmers() {
        assert_eq!(Lang::from_tag("es-ES"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("en"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr"), None);
    }
}
