//! `ayuda site` as a site owner runs it: a built static site in, a complete `ayuda/` folder
//! out, with a program that needs nothing else installed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use crate::util::{ayuda_command, piped, stderr};

const FAQ_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FAQ</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "FAQPage", "mainEntity": [
 {"@type": "Question", "name": "When are you open?",
  "acceptedAnswer": {"@type": "Answer", "text": "Monday to Saturday from 9:00 to 18:00; closed on Sundays."}},
 {"@type": "Question", "name": "How much is shipping?",
  "acceptedAnswer": {"@type": "Answer", "text": "Shipping costs 4.90 and is free over 40."}},
 {"@type": "Question", "name": "Can I return a product?",
  "acceptedAnswer": {"@type": "Answer", "text": "Yes, within 30 days with the receipt."}},
 {"@type": "Question", "name": "Do you take credit cards?",
  "acceptedAnswer": {"@type": "Answer", "text": "We take cards and cash."}}
]}
</script></head><body><h1>FAQ</h1></body></html>
"#;

/// A built site as a generator writes it: a home page and a FAQ page with FAQPage data.
fn built_site(root: &Path) -> PathBuf {
    let site = root.join("public");
    std::fs::create_dir_all(site.join("faq")).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><html lang=\"en\"><head><title>Shop</title></head><body><a href=\"faq/\">FAQ</a></body></html>\n",
    )
    .unwrap();
    std::fs::write(site.join("faq/index.html"), FAQ_PAGE).unwrap();
    site
}

/// Runs `ayuda site` from `cwd` with no PATH: it must start no other program.
fn site(cwd: &Path, args: &[&str]) -> Output {
    piped(
        ayuda_command()
            .arg("site")
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", "")
            .env("AYUDA_LANG", "en"),
        b"",
    )
}

/// Every file under `dir` with its length and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = e.metadata().unwrap();
            (e.path().to_owned(), (m.len(), m.modified().unwrap()))
        })
        .collect()
}

fn kb_file(site: &Path) -> PathBuf {
    std::fs::read_dir(site.join("ayuda"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("kb."))
        .expect("a bundle in ayuda/")
}

#[test]
fn site_writes_the_chat_folder_that_answers_and_a_second_run_rewrites_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let public = built_site(tmp.path());
    let out = site(tmp.path(), &["public"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The tag to paste, alone on stdout.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        r#"<script src="/ayuda/ayuda.js" defer></script>"#
    );
    let err = stderr(&out);
    assert!(err.contains("before opening the chat"), "{err}");
    assert!(
        err.contains("all-MiniLM-L6-v2"),
        "an English FAQ gets the English model: {err}"
    );

    // The loader names the hashed files; the model and the bundle are stored compressed.
    let loader = std::fs::read_to_string(public.join("ayuda/ayuda.js")).unwrap();
    let kb = kb_file(&public);
    let kb_name = kb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(loader.contains(&format!(r#""kb":"{kb_name}""#)), "{loader}");
    let models: Vec<_> = std::fs::read_dir(public.join("ayuda/models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(models.len(), 1);
    for file in [&kb, &models[0]] {
        assert_eq!(
            &std::fs::read(file).unwrap()[..2],
            &[0x1f, 0x8b],
            "{}",
            file.display()
        );
    }
    let headers = std::fs::read_to_string(public.join("_headers")).unwrap();
    assert!(
        headers.contains(&format!(
            "/ayuda/{kb_name}\n  Cache-Control: public, max-age=31536000, immutable"
        )),
        "{headers}"
    );
    assert!(!public.join(".ayuda-site.lock").exists());

    // The stored files answer natively too: the bundle finds its model beside it.
    let ask = piped(
        ayuda_command().args([
            "ask",
            "--kb",
            kb.to_str().unwrap(),
            "--json",
            "what does delivery cost",
        ]),
        b"",
    );
    assert!(ask.status.success(), "{}", stderr(&ask));
    assert!(
        String::from_utf8_lossy(&ask.stdout).contains("4.90"),
        "{}",
        String::from_utf8_lossy(&ask.stdout)
    );

    // Nothing changed: nothing rewritten.
    let before = snapshot(&public);
    let again = site(tmp.path(), &["public"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("0 files written"),
        "{}",
        stderr(&again)
    );
    assert_eq!(snapshot(&public), before);

    // The FAQ changed: a new bundle, the loader points at it, the old one is gone.
    let page = public.join("faq/index.html");
    std::fs::write(&page, FAQ_PAGE.replace("4.90", "5.90")).unwrap();
    let third = site(tmp.path(), &["public"]);
    assert!(third.status.success(), "{}", stderr(&third));
    let new_kb = kb_file(&public);
    assert_ne!(new_kb, kb);
    assert!(!kb.exists());
    let loader = std::fs::read_to_string(public.join("ayuda/ayuda.js")).unwrap();
    assert!(loader.contains(&*new_kb.file_name().unwrap().to_string_lossy()));

    // A run that fails while writing (here: the loader cannot be written) leaves the chat as it
    // was: the old loader, and every file it names still there.
    std::fs::create_dir(public.join("ayuda/ayuda.js.partial")).unwrap();
    std::fs::write(&page, FAQ_PAGE.replace("4.90", "6.90")).unwrap();
    let failed = site(tmp.path(), &["public"]);
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("ayuda.js"), "{}", stderr(&failed));
    assert_eq!(
        std::fs::read_to_string(public.join("ayuda/ayuda.js")).unwrap(),
        loader
    );
    assert!(new_kb.exists(), "the bundle the loader names is kept");
}

#[test]
fn site_inject_tags_each_page_once_and_reads_ayuda_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let public = built_site(tmp.path());
    // Settings at the project root: an extra source, beside the file, and the chat's corner.
    std::fs::write(
        tmp.path().join("extra.csv"),
        "id,question,answer\nportugal,Do you deliver to Portugal?,\"Yes, in 3 to 5 days.\"\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("ayuda.toml"),
        "sources = [\"extra.csv\"]\nposition = \"left\"\nlang = \"en\"\n",
    )
    .unwrap();
    for _ in 0..2 {
        let out = site(tmp.path(), &["public", "--inject"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    for (page, src) in [
        ("index.html", "ayuda/ayuda.js"),
        ("faq/index.html", "../ayuda/ayuda.js"),
    ] {
        let html = std::fs::read_to_string(public.join(page)).unwrap();
        assert_eq!(html.matches("ayuda/ayuda.js").count(), 1, "{page}: {html}");
        assert!(
            html.contains(&format!(r#"<script src="{src}" defer></script>"#)),
            "{page}: {html}"
        );
    }
    let loader = std::fs::read_to_string(public.join("ayuda/ayuda.js")).unwrap();
    assert!(loader.contains(r#""position":"left""#), "{loader}");
    let ask = piped(
        ayuda_command().args([
            "ask",
            "--kb",
            kb_file(&public).to_str().unwrap(),
            "--json",
            "Do you deliver to Portugal?",
        ]),
        b"",
    );
    assert!(
        String::from_utf8_lossy(&ask.stdout).contains("3 to 5 days"),
        "{}",
        stderr(&ask)
    );
}

#[test]
fn site_bad_input_is_refused_clearly_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = |args: &[&str], expect: &[&str]| {
        let out = site(tmp.path(), args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        for e in expect {
            assert!(err.contains(e), "{args:?}: {e:?} not in {err}");
        }
    };
    refused(&["missing"], &["no such folder", "build your site first"]);
    std::fs::write(tmp.path().join("file.html"), "<p>hi</p>").unwrap();
    refused(&["file.html"], &["is a file"]);
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    refused(&["empty"], &["holds no HTML pages", "Hugo: public"]);
    let bare = tmp.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::write(
        bare.join("index.html"),
        "<html><body><p>Welcome</p></body></html>",
    )
    .unwrap();
    refused(
        &["bare"],
        &[
            "no FAQ found",
            "<section data-ayuda-faq>",
            "--source faq.csv",
        ],
    );
    assert!(!bare.join("ayuda").exists());

    // A typo in ayuda.toml names the key and its line, before any work.
    let public = built_site(tmp.path());
    std::fs::write(
        tmp.path().join("ayuda.toml"),
        "lang = \"en\"\npositon = \"left\"\n",
    )
    .unwrap();
    refused(&["public"], &["ayuda.toml", "line 2", "positon"]);
    std::fs::remove_file(tmp.path().join("ayuda.toml")).unwrap();

    // A second run while a first is writing is refused; the first's lock is the OS's.
    let lock = std::fs::File::create(public.join(".ayuda-site.lock")).unwrap();
    lock.try_lock().unwrap();
    refused(&["public"], &["another `ayuda site` is writing"]);
    drop(lock);
    assert!(
        !public.join("ayuda").exists(),
        "nothing written while refused"
    );
    std::fs::remove_file(public.join(".ayuda-site.lock")).unwrap();

    // An output folder that cannot be written (a file where the folder should be).
    std::fs::write(public.join("ayuda"), "not a folder").unwrap();
    refused(&["public"], &["ayuda"]);
    assert_eq!(
        std::fs::read_to_string(public.join("ayuda")).unwrap(),
        "not a folder"
    );
}

#[test]
fn site_into_a_read_only_folder_says_so_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let public = built_site(tmp.path());
    // Root ignores permission bits, so the folder is made immutable (where the file system
    // allows it); a non-root user gets the same error from a plain read-only folder.
    let made = Command::new("chattr").arg("+i").arg(&public).status();
    if !made.is_ok_and(|s| s.success()) {
        let mut perms = std::fs::metadata(&public).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&public, perms).unwrap();
    }
    let out = site(tmp.path(), &["public"]);
    let _ = Command::new("chattr").arg("-i").arg(&public).status();
    let mut perms = std::fs::metadata(&public).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&public, perms).unwrap();
    if out.status.success() {
        // Neither way made it read-only here (root on a file system without chattr).
        eprintln!("skipped: could not make a read-only folder on this machine");
        return;
    }
    assert!(
        stderr(&out).contains("is it read-only?"),
        "{}",
        stderr(&out)
    );
    assert!(!public.join("ayuda").exists());
}
