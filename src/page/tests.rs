//! What the page's files must not do, read from the text the binary serves: the CSP would
//! block inline code and Trusted Types would stop HTML sinks at run time; these fail earlier,
//! with the line to fix.
use super::*;

fn file(path: &str) -> &'static str {
    FILES
        .iter()
        .find(|(served_at, _, _)| *served_at == path)
        .map(|(_, text, _)| *text)
        .unwrap_or_else(|| panic!("no page file at {path}"))
}

fn scripts() -> impl Iterator<Item = (&'static str, &'static str)> {
    FILES
        .iter()
        .filter(|(path, _, _)| path.ends_with(".js"))
        .map(|(path, text, _)| (*path, *text))
}

#[test]
fn no_script_turns_text_into_html_or_code() {
    let sinks = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setTimeout('",
    ];
    let mut scanned = 0;
    for (path, text) in scripts() {
        scanned += 1;
        for (n, line) in text.lines().enumerate() {
            for sink in sinks {
                assert!(!line.contains(sink), "{path}:{}: {sink} in {line:?}", n + 1);
            }
        }
    }
    assert_eq!(scanned, 2);
}

#[test]
fn the_html_has_no_inline_script_style_or_handler() {
    let html = file("/");
    for (n, line) in html.lines().enumerate() {
        let at = format!("index.html:{}: {line:?}", n + 1);
        if line.contains("<script") {
            assert!(line.contains(r#" src="/page/"#), "{at}");
        }
        assert!(!line.contains("<style") && !line.contains("style="), "{at}");
        // An event handler attribute: ` on` + letters + `=`.
        let handler = line.match_indices(" on").any(|(i, _)| {
            let rest = &line[i + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            name_len > 0 && rest[name_len..].starts_with('=')
        });
        assert!(!handler, "{at}");
    }
}

#[test]
fn every_element_the_scripts_look_up_is_in_the_page() {
    let html = file("/");
    let app = file("/page/app.js");
    let mut looked_up = 0;
    // app.js finds every element by a literal id, as `$('the-id')`.
    for (i, _) in app.match_indices("$('") {
        let id: String = app[i + 3..].chars().take_while(|c| *c != '\'').collect();
        looked_up += 1;
        assert!(
            html.contains(&format!(r#"id="{id}""#)),
            "app.js looks up #{id}, which index.html lacks"
        );
    }
    assert!(looked_up > 20, "{looked_up}");
}

#[test]
fn the_page_links_every_file_it_needs_and_only_those() {
    let html = file("/");
    assert!(html.contains(r#"<link rel="stylesheet" href="/page/app.css">"#));
    assert!(html.contains(r#"<script type="module" src="/page/app.js"></script>"#));
    assert!(file("/page/app.js").contains("from './api.js'"));
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn an_if_none_match_naming_the_etag_or_a_star_matches() {
    let etag = etag_of("body");
    assert_ne!(etag, etag_of("body2"));
    let tag = etag.to_str().unwrap();
    for sent in [
        tag.to_owned(),
        format!("W/{tag}"),
        format!("\"x\", {tag}"),
        "*".into(),
    ] {
        assert!(
            matches_etag(&HeaderValue::from_str(&sent).unwrap(), &etag),
            "{sent}"
        );
    }
    assert!(!matches_etag(&HeaderValue::from_static("\"x\""), &etag));
}
