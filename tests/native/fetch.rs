//! models/fetch.sh refuses files that do not match their pinned sums and leaves nothing behind.

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
