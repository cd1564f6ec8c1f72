//! Retrieval: owns finding the entries a visitor's question is about and, later, the answer
//! policy (answer / suggest / escalate). Pure computation on entries, vectors and text; no IO.
//!
//! So far: [`lexical`], BM25 over stemmed English and Spanish terms. Dense similarity, the
//! fusion of the two and the calibrated policy come with the rest of issue 3.

pub mod lexical;
