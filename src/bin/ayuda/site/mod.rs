//! `ayuda site PUBLIC_DIR`: a built static site in, a complete `ayuda/` folder out (the way
//! Pagefind does it). Owns the order of the work: settings, the site's FAQ and extra sources,
//! lint, the model, the bundle (reused when nothing it depends on changed), the files, the
//! tag, and the report of what a chat costs a visitor. What goes where on disk is
//! [`folder`]'s; adding the tag to pages is [`inject`]'s.

mod assets;
mod config;
mod folder;
mod inject;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ayuda::kb::lint::{check_rows, Severity};
use ayuda::kb::BuildOptions;
use ayuda::model::Encoder;
use ayuda::native::{gzip, load_bundle, read_site_pages, read_source_rows, read_stored};
use clap::Args;

use crate::build::{build_bundle, report};
use crate::say::say;
use crate::support::model_for;
use folder::{short_hash, Folder, Lock, FOLDER};

#[derive(Args)]
pub struct SiteArgs {
    /// The folder your site generator wrote (Hugo: public, Eleventy and Jekyll: _site, Astro:
    /// dist, MkDocs: site): its pages' FAQPage data and data-ayuda-faq sections are the FAQ.
    public_dir: PathBuf,
    /// More FAQ sources, any format `ayuda build` reads (repeatable; added to ayuda.toml's).
    #[arg(long = "source", value_name = "FILE")]
    sources: Vec<PathBuf>,
    /// Add the script tag to every HTML page of PUBLIC_DIR that lacks it.
    #[arg(long)]
    inject: bool,
    /// The settings file (default: ayuda.toml in the current folder, if there is one).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write ayuda/ and _headers (default: PUBLIC_DIR). Your generator's static folder
    /// (Hugo: static, Eleventy: a passthrough-copied folder) makes the chat work under its
    /// development server too.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The packed model (default: the multilingual one when any entry or visitor language is not
    /// English, else the small English one).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
}

/// Cloudflare Pages refuses files over 25 MiB; other hosts have similar limits.
const FILE_LIMIT: u64 = 25 << 20;

pub fn run(args: SiteArgs) -> Result<()> {
    let site = &args.public_dir;
    check_site_folder(site)?;
    let settings = config::load(args.config.as_deref())?;
    let (Some(code), Some(loader)) = (assets::CODE, assets::LOADER) else {
        bail!(assets::missing());
    };
    let out = args.out.clone().unwrap_or_else(|| site.clone());
    if !out.is_dir() {
        // A generator's static folder may not exist yet in a new project; its parent must.
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() || out.exists() {
            bail!(say!(
                en: "{}: not a folder (--out names the folder ayuda/ is written into)",
                es: "{}: no es una carpeta (--out indica la carpeta donde se escribe ayuda/)",
                out.display()
            ));
        }
        std::fs::create_dir(&out)
            .with_context(|| say!(en: "creating {}", es: "creando {}", out.display()))?;
    }
    let _lock = Lock::take(&out)?;

    // The FAQ: the site's pages, then ayuda.toml's sources (relative to it), then --source.
    let pages = read_site_pages(site)?;
    if pages.pages == 0 {
        bail!(say!(
            en: "{} holds no HTML pages: pass the folder your site generator writes (Hugo: public, Eleventy and Jekyll: _site, Astro: dist, MkDocs: site), after building the site",
            es: "{} no tiene páginas HTML: indica la carpeta que escribe tu generador de sitios (Hugo: public, Eleventy y Jekyll: _site, Astro: dist, MkDocs: site), después de generar el sitio",
            site.display()
        ));
    }
    let mut sources: Vec<PathBuf> = Vec::new();
    let empty = config::SiteConfig::default();
    let cfg = settings.as_ref().map_or(&empty, |l| &l.config);
    if let Some(loaded) = &settings {
        let dir = loaded.path.parent().unwrap_or(Path::new("."));
        sources.extend(cfg.sources.iter().map(|s| dir.join(s)));
        eprintln!(
            "{}",
            say!(
                en: "ayuda: settings from {}",
                es: "ayuda: ajustes de {}",
                loaded.path.display()
            )
        );
    }
    sources.extend(args.sources.iter().cloned());
    let mut rows = pages.rows;
    let from_pages = rows.len();
    rows.extend(read_source_rows(&sources)?);
    if rows.is_empty() {
        bail!(no_faq_help(site, pages.pages));
    }
    let checked = check_rows(rows);
    let errors = print_findings(&checked.findings);
    if errors > 0 {
        bail!(say!(
            en: "{errors} error(s) in the FAQ (above); fix them and run again",
            es: "{errors} error(es) en las FAQ (arriba); arréglalos y vuelve a ejecutarlo"
        ));
    }
    let entries = checked.entries;
    let rest = if sources.is_empty() {
        String::new()
    } else {
        say!(
            en: ", the rest from {} sources",
            es: ", el resto de {} fuentes",
            sources.len()
        )
    };
    eprintln!(
        "{}",
        say!(
            en: "ayuda: {} entries: {from_pages} FAQ rows from {} pages{rest}",
            es: "ayuda: {} entradas: {from_pages} filas de FAQ de {} páginas{rest}",
            entries.len(),
            pages.pages
        )
    );

    // The model, named by its content.
    let model_path = model_for(args.model.as_deref(), &entries, &cfg.languages)?;
    let model_bytes = read_stored(&model_path)?;
    let model_hash = short_hash(&[&model_bytes]);
    let stem = model_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = stem.strip_suffix(".ayuda").unwrap_or(&stem).to_string();
    let model_file = format!("{stem}.{model_hash}.ayuda");

    // The bundle, named by everything it is built from, so an unchanged site reuses it.
    let t = &cfg.thresholds;
    let options = BuildOptions {
        contact: cfg.contact.clone(),
        answer_at: t.answer_at,
        margin: t.margin,
        suggest_at: t.suggest_at,
        lexical_weight: t.lexical_weight,
        trained_weight: t.trained_weight,
    };
    let inputs = serde_json::json!({
        "ayuda": env!("CARGO_PKG_VERSION"),
        // A build that writes another file format (or decides differently within one) under
        // the same package version must not reuse the old bundle.
        "kb_format": ayuda::kb::FORMAT_VERSION,
        "model": model_file,
        "entries": entries,
        "contact": options.contact,
        "thresholds": [t.answer_at, t.margin, t.suggest_at, t.lexical_weight, t.trained_weight],
    });
    let kb_file = format!("kb.{}.bin", short_hash(&[inputs.to_string().as_bytes()]));

    let mut folder = Folder::new(&out)?;
    let code_files: Vec<(&str, &[u8])> = code.iter().map(|a| (a.path, a.bytes)).collect();
    let code_dir = short_hash(
        &code_files
            .iter()
            .flat_map(|(p, b)| [p.as_bytes(), *b])
            .collect::<Vec<_>>(),
    );
    folder.put_code(&code_dir, &code_files)?;
    let model_rel = format!("models/{model_file}");
    folder.put_named(&model_rel, || Ok(gzip(&model_bytes)))?;
    let kb_path = folder.path(&kb_file);
    let reusable = kb_path.is_file() && load_bundle(&kb_path).is_ok();
    if reusable {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: nothing the knowledge base depends on changed: {} kept",
                es: "ayuda: no ha cambiado nada de lo que depende la base de conocimiento: se conserva {}",
                kb_path.display()
            )
        );
    }
    folder.put_named(&kb_file, || {
        let encoder = Encoder::from_packed(&model_bytes)
            .with_context(|| format!("{}", model_path.display()))?;
        let bundle = build_bundle(entries, &encoder, Some(&model_file), options)?;
        let bytes = bundle.to_bytes();
        report(&bundle, &kb_path, bytes.len(), &encoder);
        Ok(gzip(&bytes))
    })?;

    let mut site_settings = serde_json::json!({
        "code": format!("{code_dir}/"),
        "kb": kb_file,
        "model": model_rel,
    });
    for (key, value) in [
        ("lang", cfg.lang.map(|l| l.as_str().to_string())),
        ("position", cfg.position.map(|p| p.as_str().to_string())),
        ("contact", cfg.contact_page.clone()),
        ("endpoint", cfg.endpoint.clone()),
    ] {
        if let Some(v) = value {
            site_settings[key] = serde_json::Value::String(v);
        }
    }
    let loader_text = assets::loader_with(loader, &site_settings).with_context(|| {
        say!(
            en: "the widget's loader has no settings slot (a build of ayuda from mismatched files)",
            es: "el cargador del chat no tiene hueco para los ajustes (ayuda se compiló con archivos que no casan)"
        )
    })?;
    folder.put("ayuda.js", loader_text.as_bytes())?;
    folder.put_headers()?;
    folder.remove_stale()?;

    let injected = if args.inject {
        inject::inject(site)?
    } else {
        Vec::new()
    };

    // The report.
    let tally = &folder.tally;
    eprintln!(
        "{}",
        say!(
            en: "ayuda: {}: {} files written, {} unchanged, {} stale removed",
            es: "ayuda: {}: {} archivos escritos, {} sin cambios, {} obsoletos borrados",
            out.join(FOLDER).display(),
            tally.written.len(),
            tally.unchanged,
            tally.removed.len()
        )
    );
    print_costs(
        &folder,
        loader_text.as_bytes(),
        code,
        &code_dir,
        &model_rel,
        &kb_file,
    )?;
    if args.inject {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: the tag added to {} pages that lacked it",
                es: "ayuda: etiqueta añadida a {} páginas que no la tenían",
                injected.len()
            )
        );
    } else {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: add this tag to your pages (or run again with --inject):",
                es: "ayuda: añade esta etiqueta a tus páginas (o vuelve a ejecutarlo con --inject):"
            )
        );
        println!(r#"<script src="/{FOLDER}/ayuda.js" defer></script>"#);
    }
    Ok(())
}

fn check_site_folder(site: &Path) -> Result<()> {
    match std::fs::metadata(site) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(say!(
            en: "{}: no such folder; build your site first (hugo, npx @11ty/eleventy, jekyll build, ...) and pass the folder it writes",
            es: "{}: no existe esa carpeta; genera antes tu sitio (hugo, npx @11ty/eleventy, jekyll build, ...) e indica la carpeta que escribe",
            site.display()
        )),
        Err(e) => Err(e).with_context(|| say!(en: "reading {}", es: "leyendo {}", site.display())),
        Ok(m) if !m.is_dir() => bail!(say!(
            en: "{} is a file: pass the folder your site generator writes (use --source for a FAQ file)",
            es: "{} es un archivo: indica la carpeta que escribe tu generador de sitios (usa --source para un archivo de FAQ)",
            site.display()
        )),
        Ok(_) => Ok(()),
    }
}

/// What to tell an owner whose site has pages but no FAQ anywhere.
fn no_faq_help(site: &Path, pages: usize) -> String {
    say!(
        en: "no FAQ found: the {pages} HTML pages under {} have no schema.org FAQPage data and no section marked data-ayuda-faq, and no other source was given. Add to a page, for example:

  <section data-ayuda-faq>
    <h3>Do you open on Sundays?</h3>
    <p>Yes, from 9:00 to 14:00.</p>
    <details><summary>Can I pay by card?</summary><p>Yes, and with Bizum.</p></details>
  </section>

or pass --source faq.csv (columns id,question,answer; rows sharing an id are ways of asking one question), or list it in ayuda.toml as sources = [\"faq.csv\"].",
        es: "no hay FAQ: las {pages} páginas HTML de {} no tienen datos FAQPage de schema.org ni ninguna sección marcada con data-ayuda-faq, y no se ha indicado ninguna otra fuente. Añade a una página, por ejemplo:

  <section data-ayuda-faq>
    <h3>¿Abrís los domingos?</h3>
    <p>Sí, de 9:00 a 14:00.</p>
    <details><summary>¿Puedo pagar con tarjeta?</summary><p>Sí, y también con Bizum.</p></details>
  </section>

o indica --source faq.csv (columnas pregunta;respuesta, o id,question,answer; las filas con el mismo id son formas de hacer una misma pregunta), o ponlo en ayuda.toml como sources = [\"faq.csv\"].",
        site.display()
    )
}

/// Prints lint findings, errors first, the first few of each kind; returns the errors.
fn print_findings(findings: &[ayuda::kb::lint::Finding]) -> usize {
    const SHOWN: usize = 20;
    let mut sorted: Vec<_> = findings.iter().collect();
    sorted.sort_by_key(|f| f.severity);
    for f in sorted.iter().take(SHOWN) {
        eprintln!("ayuda: {}", crate::say::pick(&f.said()));
    }
    if sorted.len() > SHOWN {
        eprintln!(
            "{}",
            say!(
                en: "ayuda: ... and {} more (run `ayuda lint` for all)",
                es: "ayuda: ... y {} más (ejecuta `ayuda lint` para verlos todos)",
                sorted.len() - SHOWN
            )
        );
    }
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count()
}

/// What a visitor downloads: before opening the chat, and by the first answer and the model.
/// Scripts and wasm are counted gzip-compressed, as static hosts serve them; the model and the
/// bundle as stored (already compressed). Warns about files over the hosts' per-file limit.
fn print_costs(
    folder: &Folder,
    loader: &[u8],
    code: &[assets::Asset],
    code_dir: &str,
    model: &str,
    kb: &str,
) -> Result<()> {
    let on_wire = |bytes: &[u8]| gzip(bytes).len() as u64;
    let size = |rel: &str| -> Result<u64> {
        let path = folder.path(rel);
        Ok(std::fs::metadata(&path)
            .with_context(|| say!(en: "reading {}", es: "leyendo {}", path.display()))?
            .len())
    };
    let page_modules = ["ayuda-chat.js", "ayuda-i18n.js", "outbox.js", "encoder.js"];
    // The early tier answers with these and the bundle; the model's module comes with the model.
    let first_answer = [
        "encoder-worker.js",
        "pkg/ayuda_early.js",
        "pkg/ayuda_early_bg.wasm",
    ];
    let (mut before, mut opened, mut with_model) = (on_wire(loader), 0, 0);
    // One build of the model's module reaches a browser: the larger is counted.
    let mut builds = [0u64; 2];
    for a in code {
        let n = on_wire(a.bytes);
        if let Some(b) = assets::MODEL_MODULES
            .iter()
            .position(|files| files.contains(&a.path))
        {
            builds[b] += n;
        } else if page_modules.contains(&a.path) {
            before += n;
        } else if first_answer.contains(&a.path) {
            opened += n;
        } else {
            with_model += n;
        }
    }
    with_model += builds.into_iter().max().unwrap_or(0);
    let kb_bytes = size(kb)?;
    let model_bytes = size(model)? + with_model;
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "{}",
        say!(
            en: "ayuda: a visitor downloads {:.0} KB before opening the chat; {:.2} MB more by its first answer (the early tier's module, bundle); then the model and its module, {:.1} MB, once (their browser keeps them)",
            es: "ayuda: un visitante descarga {:.0} KB antes de abrir el chat; {:.2} MB más hasta la primera respuesta (el módulo de las respuestas tempranas y la base de conocimiento); luego el modelo y su módulo, {:.1} MB, una sola vez (su navegador los guarda)",
            before as f64 / 1e3,
            mb(opened + kb_bytes),
            mb(model_bytes)
        )
    );
    eprintln!(
        "{}",
        say!(
            en: "ayuda: a thousand chats by new visitors cost about {:.1} GB of hosting bandwidth",
            es: "ayuda: mil chats de visitantes nuevos cuestan unos {:.1} GB de tráfico de alojamiento",
            (before + opened + kb_bytes + model_bytes) as f64 * 1000.0 / 1e9
        )
    );
    for rel in [model, kb]
        .into_iter()
        .map(str::to_string)
        .chain(code.iter().map(|a| format!("{code_dir}/{}", a.path)))
    {
        let n = size(&rel)?;
        if n > FILE_LIMIT {
            eprintln!(
                "{}",
                say!(
                    en: "ayuda: warning: {} is {:.1} MiB, over the 25 MiB some hosts (Cloudflare Pages) accept per file",
                    es: "ayuda: aviso: {} ocupa {:.1} MiB, más de los 25 MiB por archivo que aceptan algunos alojamientos (Cloudflare Pages)",
                    folder.path(&rel).display(),
                    n as f64 / (1 << 20) as f64
                )
            );
        }
    }
    Ok(())
}
