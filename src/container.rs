//! The file framing shared by the packed model and the knowledge-base bundle: owns the
//! signature, version, length and checksum checks; never what the manifest or data mean.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! 0   signature (8 bytes)        "AYUDAMDL" for models, "AYUDAKB\0" for bundles
//! 8   u32 format version
//! 12  u64 total file length      so a cut-off download is told apart from corruption
//! 20  u32 manifest length
//! 24  manifest (JSON)            what lies where in the data
//! ..  data
//! -4  u32 CRC32 of everything before it
//! ```
//!
//! Reads check, in order: signature, version, length, checksum, manifest bounds. Each failure
//! is its own variant so the file's owner can word the message for its users.

use std::ops::RangeInclusive;

const HEADER_LEN: usize = 24;
const CRC_LEN: usize = 4;

/// A frame whose integrity checks all passed.
pub(crate) struct Frame<'a> {
    /// Within the versions the reader asked for.
    pub version: u32,
    pub manifest: &'a [u8],
    pub data: &'a [u8],
    /// CRC32 and total length: a name for exactly these bytes.
    pub crc: u32,
    pub total: u64,
}

#[derive(Debug)]
pub(crate) enum FrameError {
    /// The signature is not the expected one.
    Foreign,
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
    Malformed(String),
}

pub(crate) fn write(magic: &[u8; 8], version: u32, manifest: &[u8], data: &[u8]) -> Vec<u8> {
    let total = HEADER_LEN + manifest.len() + data.len() + CRC_LEN;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(total as u64).to_le_bytes());
    out.extend_from_slice(&(manifest.len() as u32).to_le_bytes());
    out.extend_from_slice(manifest);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len(), total);
    out
}

pub(crate) fn read<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    versions: RangeInclusive<u32>,
) -> Result<Frame<'a>, FrameError> {
    if bytes.len() < magic.len() || &bytes[..magic.len()] != magic {
        return Err(FrameError::Foreign);
    }
    if bytes.len() < HEADER_LEN + CRC_LEN {
        return Err(FrameError::Truncated {
            expected: (HEADER_LEN + CRC_LEN) as u64,
            found: bytes.len() as u64,
        });
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let version = u32_at(8);
    if !versions.contains(&version) {
        return Err(FrameError::Version {
            found: version,
            oldest: *versions.start(),
            current: *versions.end(),
        });
    }
    let total = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let found = bytes.len() as u64;
    if found < total {
        return Err(FrameError::Truncated {
            expected: total,
            found,
        });
    }
    if found > total {
        return Err(FrameError::Malformed(format!(
            "{} unexpected bytes after the end",
            found - total
        )));
    }
    let body = &bytes[..bytes.len() - CRC_LEN];
    let expected = u32_at(bytes.len() - CRC_LEN);
    let crc = crc32fast::hash(body);
    if crc != expected {
        return Err(FrameError::Checksum {
            expected,
            found: crc,
        });
    }
    let manifest_len = u32_at(20) as usize;
    let manifest = body
        .get(HEADER_LEN..HEADER_LEN.saturating_add(manifest_len))
        .ok_or_else(|| FrameError::Malformed("manifest runs past the end of the file".into()))?;
    Ok(Frame {
        version,
        manifest,
        data: &body[HEADER_LEN + manifest_len..],
        crc,
        total,
    })
}

impl Frame<'_> {
    /// A name for exactly these bytes: `prefix-crc-length`.
    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{:08x}-{}", self.crc, self.total)
    }
}

/// The name [`Frame::name`] gives the frame [`write`] returned, without reading it back.
pub(crate) fn written_name(prefix: &str, written: &[u8]) -> String {
    let crc = u32::from_le_bytes(
        written[written.len() - CRC_LEN..]
            .try_into()
            .expect("4 bytes"),
    );
    format!("{prefix}-{crc:08x}-{}", written.len())
}

/// A byte range inside a frame's data, as manifests record it.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug)]
pub(crate) struct Range {
    pub offset: usize,
    pub len: usize,
}

impl Range {
    /// Appends `bytes` to `data` and returns where they went.
    pub fn push(data: &mut Vec<u8>, bytes: &[u8]) -> Range {
        let r = Range {
            offset: data.len(),
            len: bytes.len(),
        };
        data.extend_from_slice(bytes);
        r
    }

    /// The bytes this range names, or a message when it runs past the end.
    pub fn slice<'a>(self, data: &'a [u8], what: &str) -> Result<&'a [u8], String> {
        self.offset
            .checked_add(self.len)
            .and_then(|end| data.get(self.offset..end))
            .ok_or_else(|| format!("{what} runs past the end of the data"))
    }
}
