//! The compiled knowledge base: owns building it from entries and a model (`ayuda build`) and
//! its file format. It never reads files itself, and never answers with another model's vectors.
//!
//! The file is a [`crate::container`] frame with the signature "AYUDAKB\0". Its manifest holds
//! the model's fingerprint and dimension, the policy and where it came from, the entries, and
//! the BM25 index; the data holds the phrasing vectors (int8 rows), the entries' readings (one
//! int8 row per entry: its first question with its answer, since version 4) and, when the
//! build found it helps, the trained answer model (since version 2). Which entry each phrasing
//! and lexical document belongs to follows from the entries' order, so it is rebuilt, not
//! stored.

use serde::{Deserialize, Serialize};

use crate::said;
use crate::said::Said;

use super::Entry;
use crate::container::{self, FrameError, Range};
use crate::dialog::{HoursError, Zone};
use crate::escalate::{Contact, Settings, SettingsError};
use crate::model::{self, Encoder};
use crate::retrieve::{
    self, Bm25, Calibration, Head, HeadRows, Index, Outcome, Policy, Query, Scored, Vectors,
};

const MAGIC: &[u8; 8] = b"AYUDAKB\0";
/// The version this build writes: 2 added the trained answer model, 3 the learned confidence
/// in the policy (an older reader would refuse its field by name rather than by version), 4
/// the entries' readings, 5 the trained model's "none of them" row.
pub const FORMAT_VERSION: u32 = 5;
/// The first version whose trained answer model has a "none of them" row.
const HEAD_NONE_VERSION: u32 = 5;
/// The oldest version this build still reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;

const FINGERPRINT_PREFIX: &str = "kb";

/// Texts embedded per call while building, so progress can be shown: 32 batches, which the
/// cores share longest first (Encoder::embed_batch), so they seldom wait at a chunk's end.
const CHUNK: usize = 1024;

/// A knowledge base ready to answer: entries, their index, and the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    entries: Vec<Entry>,
    index: Index,
    calibration: Calibration,
    /// The early tier's policy (words alone, before the model has arrived); None in bundles
    /// from before it.
    early: Option<Calibration>,
    model: ModelRef,
    fingerprint: String,
    settings: Option<Settings>,
    /// `settings`, checked.
    contact: Contact,
}

/// The model a bundle's vectors came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ModelRef {
    fingerprint: String,
    dim: usize,
    /// The model file's name (no folders), so tools can find it beside the bundle.
    file: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    model: ModelRef,
    calibration: Calibration,
    /// See [`Bundle::decide_early`]; bundles from before the early tier leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    early: Option<Calibration>,
    entries: Vec<Entry>,
    lexical: Bm25,
    vectors: Range,
    /// The entries' readings (see [`Index::rank`]); bundles from before them leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    readings: Option<Range>,
    /// The trained answer model (see [`retrieve::head`]); bundles without one leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    head: Option<Range>,
    /// The owner's contact settings; bundles built without them leave the field out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact: Option<Settings>,
    /// The settings' time zone (its TZif rules in the data section), so readers need no time
    /// zone database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zone: Option<ZoneRef>,
}

#[derive(Serialize, Deserialize)]
struct ZoneRef {
    name: String,
    tzif: Range,
}

/// Everything that can make a bundle unreadable or unusable. Messages say what to do.
/// `Display` is the English; [`BundleError::said`] has both languages.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.said().en)]
#[non_exhaustive]
pub enum BundleError {
    NotBundle,
    Truncated {
        expected: u64,
        found: u64,
    },
    Checksum {
        expected: u32,
        found: u32,
    },
    Version {
        found: u32,
        oldest: u32,
        current: u32,
    },
    /// What is wrong inside, in the reader's words (a bug or a forgery, not the owner's doing).
    Malformed(String),
    ModelMismatch {
        /// The fingerprints: what tells two models apart.
        bundle: String,
        loaded: String,
        /// The file name the bundle's model was built from, when recorded: what the owner
        /// knows it by.
        bundle_file: Option<String>,
    },
}

impl BundleError {
    /// The error in both languages; what a malformed bundle's reader found stays as it said it.
    pub fn said(&self) -> Said {
        match self {
            BundleError::NotBundle => said!(
                en: "not an ayuda knowledge base (it does not start with the AYUDAKB signature); build one with `ayuda build SOURCE... --model MODEL --out KB`",
                es: "no es una base de conocimiento de ayuda (no empieza por la firma AYUDAKB); crea una con `ayuda build SOURCE... --model MODEL --out KB`"
            ),
            BundleError::Truncated { expected, found } => said!(
                en: "the knowledge base is truncated ({found} bytes, expected {expected}); copy or download it again",
                es: "la base de conocimiento está incompleta ({found} bytes, se esperaban {expected}); cópiala o descárgala de nuevo"
            ),
            BundleError::Checksum { expected, found } => said!(
                en: "the knowledge base is corrupted (checksum {found:08x}, expected {expected:08x}); copy or download it again",
                es: "la base de conocimiento está dañada (suma de comprobación {found:08x}, se esperaba {expected:08x}); cópiala o descárgala de nuevo"
            ),
            BundleError::Version {
                found,
                oldest,
                current,
            } => said!(
                en: "knowledge base format version {found} is not supported: this build reads versions {oldest} to {current}; rebuild it with this build (`ayuda build`)",
                es: "la versión {found} del formato de base de conocimiento no está admitida: esta versión de ayuda lee de la {oldest} a la {current}; vuelve a crearla con ella (`ayuda build`)"
            ),
            BundleError::Malformed(why) => said!(
                en: "the knowledge base is malformed: {why}",
                es: "la base de conocimiento está mal formada: {why}"
            ),
            BundleError::ModelMismatch {
                bundle,
                loaded,
                bundle_file,
            } => {
                let bundle = named(bundle, bundle_file);
                said!(
                    en: "the knowledge base was built with model {bundle}, but the model loaded is {loaded}; rebuild it with this model (`ayuda build ... --model MODEL`) or load the model it was built with",
                    es: "la base de conocimiento se creó con el modelo {bundle}, pero el modelo cargado es {loaded}; vuelve a crearla con este modelo (`ayuda build ... --model MODEL`) o carga el modelo con el que se creó"
                )
            }
        }
    }
}

/// A model's fingerprint with its file name before it, when known.
fn named(fingerprint: &str, file: &Option<String>) -> String {
    match file {
        Some(f) => format!("{f} ({fingerprint})"),
        None => fingerprint.to_string(),
    }
}

/// Why a bundle could not be built. `Display` is the English; [`BuildError::said`] has both
/// languages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error("{}", self.said().en)]
    NoEntries,
    #[error("{}", self.said().en)]
    EmptyAnswer { id: String, origin: super::Origin },
    /// Thresholds that do not make sense together, in the policy's words.
    #[error("{}", self.said().en)]
    Policy(Said),
    #[error("{}", self.said().en)]
    Contact(#[from] SettingsError),
    #[error(transparent)]
    Model(#[from] model::Error),
}

impl BuildError {
    /// The error in both languages; a policy's complaint stays as the policy words it (it
    /// names the thresholds' options).
    pub fn said(&self) -> Said {
        match self {
            BuildError::NoEntries => said!(
                en: "the sources hold no FAQ entries",
                es: "las fuentes no tienen ninguna entrada de FAQ"
            ),
            BuildError::EmptyAnswer { id, origin } => said!(
                en: "{origin}: entry \"{id}\" has no answer; write one, or remove the entry",
                es: "{origin}: la entrada \"{id}\" no tiene respuesta; escríbela o quita la entrada"
            ),
            BuildError::Policy(why) => why.labelled("policy", "umbrales"),
            BuildError::Contact(e) => e.said().labelled("contact settings", "datos de contacto"),
            BuildError::Model(e) => e.said(),
        }
    }
}

/// The owner's choices for a build: thresholds left as None are calibrated.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// How visitors reach a person; None for a bundle without (always open, contact page).
    pub contact: Option<Settings>,
    pub answer_at: Option<f32>,
    pub margin: Option<f32>,
    pub suggest_at: Option<f32>,
    /// Share of the lexical score in the fused score; None for the default.
    pub lexical_weight: Option<f32>,
    /// Share of the trained answer model in the score (0 turns it off); None to let
    /// calibration decide.
    pub trained_weight: Option<f32>,
}

/// What a build is doing, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Embedding the phrasings: (phrasings embedded, phrasings).
    Embedding,
    /// Training the answer model: (models trained, models), one per cross-validation fold and
    /// the final one.
    Training,
}

impl Bundle {
    /// Embeds every phrasing, indexes, calibrates and trains the answer model when it helps.
    /// `progress` hears the stage and (done, total) as each advances.
    pub fn build(
        mut entries: Vec<Entry>,
        encoder: &Encoder,
        model_file: Option<&str>,
        options: BuildOptions,
        progress: &mut dyn FnMut(Stage, usize, usize),
    ) -> Result<Bundle, BuildError> {
        if entries.is_empty() {
            return Err(BuildError::NoEntries);
        }
        // A hand-off entry may leave the answer to the person it hands the visitor to.
        if let Some(e) = entries
            .iter()
            .find(|e| e.answer.trim().is_empty() && !e.handoff)
        {
            return Err(BuildError::EmptyAnswer {
                id: e.id.clone(),
                origin: e.origin.clone(),
            });
        }
        let defaults = Policy::defaults(encoder.multilingual());
        let near_duplicate = retrieve::near_duplicate(encoder.multilingual());
        let lexical_weight = options.lexical_weight.unwrap_or(defaults.lexical_weight);
        Policy {
            answer_at: options.answer_at.unwrap_or(defaults.answer_at),
            margin: options.margin.unwrap_or(defaults.margin),
            suggest_at: options.suggest_at.unwrap_or(defaults.suggest_at),
            lexical_weight,
            trained_weight: options.trained_weight.unwrap_or(0.0),
            ..defaults
        }
        .validate()
        .map_err(BuildError::Policy)?;
        let contact = match &options.contact {
            Some(settings) => settings.check()?,
            None => Contact::default(),
        };
        // The bundle is served to visitors: keep a source's file name, not where it sat on the
        // owner's disk.
        for e in &mut entries {
            e.origin.file = file_name(&e.origin.file).to_string();
        }
        // The phrasings, then each entry's reading, in one pass.
        let readings: Vec<String> = entries.iter().map(reading).collect();
        let texts: Vec<&str> = entries
            .iter()
            .flat_map(|e| e.phrasings.iter().map(String::as_str))
            .chain(readings.iter().map(String::as_str))
            .collect();
        let mut embedded = embed(&texts, encoder, &mut |done, total| {
            progress(Stage::Embedding, done, total)
        })?;
        let phrasings = texts.len() - readings.len();
        let read = embedded.split_off(phrasings);
        let mut index = Index::build(&entries, Vectors::quantise(&embedded, encoder.dim()))
            .with_readings(Vectors::quantise(&read, encoder.dim()))
            .expect("one reading per entry");
        let texts = &texts[..phrasings];
        let weights = match options.trained_weight {
            Some(w) => vec![w],
            None => retrieve::calibrate::TRAINED_WEIGHTS.to_vec(),
        };
        // The folds' models, then the final one.
        let mut models = 0;
        let mut calibration = retrieve::calibrate(
            &index,
            texts,
            Policy {
                lexical_weight,
                ..defaults
            },
            &weights,
            near_duplicate,
            &mut |done, folds| {
                models = folds + 1;
                progress(Stage::Training, done, models)
            },
        );
        for (value, slot, name) in [
            (
                options.answer_at,
                &mut calibration.policy.answer_at,
                "answer_at",
            ),
            (options.margin, &mut calibration.policy.margin, "margin"),
            (
                options.suggest_at,
                &mut calibration.policy.suggest_at,
                "suggest_at",
            ),
            // Also when the knowledge base was too small to calibrate it on.
            (
                options.trained_weight,
                &mut calibration.policy.trained_weight,
                "trained_weight",
            ),
        ] {
            if let Some(v) = value {
                *slot = v;
                calibration.owner_set.push(name.to_string());
            }
        }
        if options.answer_at.is_some() || options.margin.is_some() {
            // The owner's thresholds are on scores and leads: they decide, not the confidence.
            calibration.policy.confidence = None;
        }
        if calibration.policy.trained_weight > 0.0 {
            let head = Head::train(index.vectors(), index.phrasing_entry(), None, entries.len());
            index = index
                .with_head(head)
                .expect("trained on this index's entries");
            progress(Stage::Training, models.max(1), models.max(1));
        }
        let early = Some(retrieve::early::calibrate_early(
            &index,
            texts,
            near_duplicate,
        ));
        let mut bundle = Bundle {
            entries,
            index,
            calibration,
            early,
            model: ModelRef {
                fingerprint: encoder.fingerprint().to_string(),
                dim: encoder.dim(),
                file: model_file.map(|f| file_name(f).to_string()),
            },
            fingerprint: String::new(),
            settings: options.contact,
            contact,
        };
        // Named by its own bytes, as a read would name it.
        bundle.fingerprint = container::written_name(FINGERPRINT_PREFIX, &bundle.to_bytes());
        Ok(bundle)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let vectors = Range::push(&mut data, &self.index.vectors().to_bytes());
        let readings = self
            .index
            .readings()
            .map(|r| Range::push(&mut data, &r.to_bytes()));
        let head = self
            .index
            .head()
            .map(|h| Range::push(&mut data, &h.to_bytes()));
        let zone = self.contact.zone().map(|z| ZoneRef {
            name: z.name().to_string(),
            tzif: Range::push(&mut data, z.tzif()),
        });
        let manifest = Manifest {
            model: self.model.clone(),
            calibration: self.calibration.clone(),
            early: self.early.clone(),
            entries: self.entries.clone(),
            lexical: self.index.lexical().clone(),
            vectors,
            readings,
            head,
            contact: self.settings.clone(),
            zone,
        };
        let manifest = serde_json::to_vec(&manifest).expect("manifest serialises");
        container::write(MAGIC, FORMAT_VERSION, &manifest, &data)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let frame = container::read(bytes, MAGIC, OLDEST_READABLE_VERSION..=FORMAT_VERSION)
            .map_err(|e| match e {
                FrameError::Foreign => BundleError::NotBundle,
                FrameError::Truncated { expected, found } => {
                    BundleError::Truncated { expected, found }
                }
                FrameError::Checksum { expected, found } => {
                    BundleError::Checksum { expected, found }
                }
                FrameError::Version {
                    found,
                    oldest,
                    current,
                } => BundleError::Version {
                    found,
                    oldest,
                    current,
                },
                FrameError::Malformed(m) => BundleError::Malformed(m),
            })?;
        let m: Manifest = serde_json::from_slice(frame.manifest)
            .map_err(|e| BundleError::Malformed(format!("manifest: {e}")))?;
        m.calibration
            .policy
            .validate()
            .map_err(|e| BundleError::Malformed(e.en))?;
        if let Some(early) = &m.early {
            early
                .policy
                .validate()
                .map_err(|e| BundleError::Malformed(format!("early tier: {}", e.en)))?;
        }
        let raw = m
            .vectors
            .slice(frame.data, "vectors")
            .map_err(BundleError::Malformed)?;
        let phrasings: usize = m.entries.iter().map(|e| e.phrasings.len()).sum();
        let vectors = Vectors::from_bytes(raw, phrasings, m.model.dim).ok_or_else(|| {
            BundleError::Malformed(format!(
                "{} bytes of vectors for {phrasings} phrasings of dimension {}",
                raw.len(),
                m.model.dim
            ))
        })?;
        let mut index =
            Index::from_parts(&m.entries, vectors, m.lexical).map_err(BundleError::Malformed)?;
        match &m.readings {
            Some(range) => {
                let raw = range
                    .slice(frame.data, "readings")
                    .map_err(BundleError::Malformed)?;
                let readings = Vectors::from_bytes(raw, m.entries.len(), m.model.dim)
                    .filter(Vectors::scales_finite)
                    .ok_or_else(|| {
                        BundleError::Malformed(format!(
                            "the entries' readings: {} bytes for {} entries of dimension {}, or a scale that is not a number",
                            raw.len(),
                            m.entries.len(),
                            m.model.dim
                        ))
                    })?;
                index = index
                    .with_readings(readings)
                    .map_err(BundleError::Malformed)?;
            }
            None if m.calibration.policy.answer_weight > 0.0 => {
                return Err(BundleError::Malformed(
                    "the policy counts the entries' readings, but the knowledge base has none"
                        .into(),
                ))
            }
            None => {}
        }
        match &m.head {
            Some(range) => {
                let raw = range
                    .slice(frame.data, "trained answer model")
                    .map_err(BundleError::Malformed)?;
                let rows = if frame.version >= HEAD_NONE_VERSION {
                    HeadRows::EntriesAndNone
                } else {
                    HeadRows::Entries
                };
                let head = Head::from_bytes(raw, m.entries.len(), m.model.dim, rows)
                    .map_err(|e| BundleError::Malformed(format!("trained answer model: {e}")))?;
                index = index.with_head(head).map_err(BundleError::Malformed)?;
            }
            None if m.calibration.policy.trained_weight > 0.0 => {
                return Err(BundleError::Malformed(
                    "the policy counts a trained answer model, but the knowledge base has none"
                        .into(),
                ))
            }
            None => {}
        }
        let zone = match &m.zone {
            Some(z) => {
                let tzif = z
                    .tzif
                    .slice(frame.data, "time zone")
                    .map_err(BundleError::Malformed)?;
                Some(
                    Zone::from_tzif(&z.name, tzif)
                        .map_err(|e| BundleError::Malformed(e.to_string()))?,
                )
            }
            None => None,
        };
        let contact = match &m.contact {
            Some(settings) => settings
                .check_in(|name| zone.ok_or_else(|| HoursError::UnknownZone(name.to_string())))
                .map_err(|e| BundleError::Malformed(format!("contact settings: {e}")))?,
            None => Contact::default(),
        };
        Ok(Bundle {
            entries: m.entries,
            index,
            calibration: m.calibration,
            early: m.early,
            model: m.model,
            fingerprint: frame.name(FINGERPRINT_PREFIX),
            settings: m.contact,
            contact,
        })
    }

    /// How visitors reach a person, as the owner set it (defaults when the bundle has none).
    pub fn contact(&self) -> &Contact {
        &self.contact
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn policy(&self) -> Policy {
        self.calibration.policy
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The early tier's thresholds and where they came from, when the bundle has one.
    pub fn early(&self) -> Option<&Calibration> {
        self.early.as_ref()
    }

    /// The file name of the model the bundle was built with, when known.
    pub fn model_file(&self) -> Option<&str> {
        self.model.file.as_deref()
    }

    /// The fingerprint of the model the vectors came from.
    pub fn model_fingerprint(&self) -> &str {
        &self.model.fingerprint
    }

    /// Names exactly this bundle's bytes (for caches).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Refuses an encoder other than the one the bundle was built with: its vectors would be
    /// compared with vectors from another space and every score would be meaningless.
    pub fn check_model(&self, encoder: &Encoder) -> Result<(), BundleError> {
        if encoder.fingerprint() == self.model.fingerprint && encoder.dim() == self.model.dim {
            Ok(())
        } else {
            Err(BundleError::ModelMismatch {
                bundle: self.model.fingerprint.clone(),
                loaded: encoder.fingerprint().to_string(),
                bundle_file: self.model.file.clone(),
            })
        }
    }

    /// The outcome for a question whose embedding (from the bundle's model) is `vector`.
    ///
    /// With `lang` (the visitor's BCP 47 tag), the entries in that language come first (see
    /// [`Index::rank`]): a bilingual FAQ's twin entries would otherwise tie and turn answers
    /// into suggestions. When nothing there matches, all entries are tried, since a visitor
    /// may write in another language than the page's; a confident answer from an entry in
    /// neither the page's language nor the question's is given from the page's language when
    /// that has the entry's twin (see [`Index::decide`]).
    pub fn decide(&self, text: &str, vector: Vec<f32>, lang: Option<&str>) -> Outcome {
        self.rank_and_decide(text, vector, lang).1
    }

    /// [`Bundle::decide`], with the ranking the outcome was decided on (for `ayuda eval`,
    /// which also scores the best-ranked entry).
    pub fn rank_and_decide(
        &self,
        text: &str,
        vector: Vec<f32>,
        lang: Option<&str>,
    ) -> (Vec<Scored>, Outcome) {
        self.index
            .decide(&Query::new(text, vector), &self.policy(), lang)
    }

    /// The early tier's outcome for `text`, from its words alone (no model needed), with the
    /// ranking; None when the bundle is from before the early tier. Languages as in
    /// [`Bundle::decide`].
    pub fn decide_early(&self, text: &str, lang: Option<&str>) -> Option<(Vec<Scored>, Outcome)> {
        let early = self.early.as_ref()?;
        Some(
            self.index
                .decide(&Query::words_only(text), &early.policy, lang),
        )
    }

    /// Embeds `text` with `encoder` and decides.
    pub fn ask(
        &self,
        encoder: &Encoder,
        text: &str,
        lang: Option<&str>,
    ) -> Result<Outcome, AskError> {
        self.check_model(encoder)?;
        let vector = encoder.embed(text)?.vector;
        Ok(self.decide(text, vector, lang))
    }
}

/// The last component of a path, with either separator.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Every phrasing of `entries` embedded, in order. `progress` hears (embedded, total) after
/// each chunk.
pub fn embed_phrasings(
    entries: &[Entry],
    encoder: &Encoder,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vectors, model::Error> {
    let texts: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.phrasings.iter().map(String::as_str))
        .collect();
    Ok(Vectors::quantise(
        &embed(&texts, encoder, progress)?,
        encoder.dim(),
    ))
}

/// `texts` embedded in order, by chunks; `progress` hears (embedded, total) after each.
fn embed(
    texts: &[&str],
    encoder: &Encoder,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<f32>>, model::Error> {
    let mut vectors = Vec::with_capacity(texts.len());
    progress(0, texts.len());
    for chunk in texts.chunks(CHUNK) {
        vectors.extend(encoder.embed_batch(chunk)?.into_iter().map(|e| e.vector));
        progress(vectors.len(), texts.len());
    }
    Ok(vectors)
}

/// An entry read as one text: its first question, then its answer's words (see
/// [`Index::rank`]). The first question, because it is the one the owner wrote the answer to.
fn reading(entry: &Entry) -> String {
    let question = entry.phrasings.first().map_or("", String::as_str);
    format!("{question} {}", crate::text::answer_words(&entry.answer))
        .trim()
        .to_string()
}

/// An outcome with the entries' texts, as the command line and the browser show it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Reply<'a> {
    Answer { entry: Hit<'a> },
    Suggest { entries: Vec<Hit<'a>> },
    Escalate,
}

/// One entry of a reply: what a visitor sees of it, and its scores.
#[derive(Debug, Serialize, PartialEq)]
pub struct Hit<'a> {
    pub id: &'a str,
    /// The entry's first phrasing: a suggestion's button label.
    pub question: &'a str,
    pub answer: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    /// The owner hands this topic to a person.
    pub handoff: bool,
    pub score: f32,
    pub dense: f32,
    pub lexical: f32,
    /// The trained answer model's probability (0 without one).
    pub trained: f32,
}

impl Bundle {
    /// `outcome` (from this bundle) with its entries' texts.
    pub fn reply(&self, outcome: &Outcome) -> Reply<'_> {
        let hit = |s: &retrieve::Scored| {
            let e = &self.entries[s.entry];
            Hit {
                id: &e.id,
                question: &e.phrasings[0],
                answer: &e.answer,
                url: e.url.as_deref(),
                handoff: e.handoff,
                score: s.score,
                dense: s.dense,
                lexical: s.lexical,
                trained: s.trained,
            }
        };
        match outcome {
            Outcome::Answer(s) => Reply::Answer { entry: hit(s) },
            Outcome::Suggest(v) => Reply::Suggest {
                entries: v.iter().map(hit).collect(),
            },
            Outcome::Escalate => Reply::Escalate,
        }
    }
}

/// Why a question could not be answered at all (as opposed to an ESCALATE outcome).
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Model(#[from] model::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_said_in_both_languages_with_its_english_as_before() {
        use crate::said::assert_said;
        let mismatch = |bundle_file: Option<&str>| BundleError::ModelMismatch {
            bundle: "abc".into(),
            loaded: "def".into(),
            bundle_file: bundle_file.map(String::from),
        };
        for (err, en) in [
            (
                BundleError::NotBundle,
                "not an ayuda knowledge base (it does not start with the AYUDAKB signature); build one with `ayuda build SOURCE... --model MODEL --out KB`",
            ),
            (
                BundleError::Truncated {
                    expected: 100,
                    found: 8,
                },
                "the knowledge base is truncated (8 bytes, expected 100); copy or download it again",
            ),
            (
                BundleError::Checksum {
                    expected: 0xabc,
                    found: 0x12,
                },
                "the knowledge base is corrupted (checksum 00000012, expected 00000abc); copy or download it again",
            ),
            (
                BundleError::Version {
                    found: 9,
                    oldest: 1,
                    current: 4,
                },
                "knowledge base format version 9 is not supported: this build reads versions 1 to 4; rebuild it with this build (`ayuda build`)",
            ),
            (
                BundleError::Malformed("manifest: eof".into()),
                "the knowledge base is malformed: manifest: eof",
            ),
            (
                mismatch(None),
                "the knowledge base was built with model abc, but the model loaded is def; rebuild it with this model (`ayuda build ... --model MODEL`) or load the model it was built with",
            ),
            (
                mismatch(Some("small.ayuda")),
                "the knowledge base was built with model small.ayuda (abc), but the model loaded is def; rebuild it with this model (`ayuda build ... --model MODEL`) or load the model it was built with",
            ),
        ] {
            assert_said(&err, &err.said(), en);
        }
        for (err, en) in [
            (BuildError::NoEntries, "the sources hold no FAQ entries"),
            (
                BuildError::EmptyAnswer {
                    id: "pay".into(),
                    origin: super::super::Origin {
                        file: "faq.csv".into(),
                        line: 2,
                    },
                },
                "faq.csv:2: entry \"pay\" has no answer; write one, or remove the entry",
            ),
            (
                BuildError::Policy(Said {
                    en: "answer_at must be between 0 and 1, not 2".into(),
                    es: "answer_at debe estar entre 0 y 1, no 2".into(),
                }),
                "policy: answer_at must be between 0 and 1, not 2",
            ),
            (
                BuildError::Contact(SettingsError::EmptyTerm),
                "contact settings: urgent.terms: an empty term would match nothing",
            ),
            (
                BuildError::Model(model::Error::NotPacked),
                "not an ayuda model file (it does not start with the AYUDAMDL signature); make one with `ayuda model pack MODEL_DIR -o FILE`",
            ),
        ] {
            assert_said(&err, &err.said(), en);
        }
    }
}
