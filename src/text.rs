//! Text normalisation shared by the knowledge base's ids and lexical search: folding the
//! accented Latin letters common in Spanish, French, German and Portuguese to their base.

/// The base letter of a Latin letter with a diacritic; other characters pass through.
pub(crate) fn fold_char(c: char) -> char {
    const FROM: &str = "áàâäãåçéèêëíìîïñóòôöõúùûüýÿÁÀÂÄÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝ";
    const TO: &str = "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUY";
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
        .unwrap_or(c)
}

pub(crate) fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}
