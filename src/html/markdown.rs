//! The README's generated markdown as HTML: pulldown-cmark renders it, every table cell of a
//! table's body gets a `title` naming its row and column (the hover text), and any raw HTML in
//! the markdown other than a line break is shown as text, never passed through (a claim's text
//! comes from `experiment.toml`).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// One body cell being collected: its events and its plain text.
#[derive(Default)]
struct Cell<'a> {
    events: Vec<Event<'a>>,
    text: String,
}

/// The column headers and the current row of a table, while its events go by.
#[derive(Default)]
struct Table<'a> {
    headers: Vec<String>,
    in_head: bool,
    row: Vec<Cell<'a>>,
    cell: Option<Cell<'a>>,
}

impl<'a> Table<'a> {
    /// Takes one event; returns the events to emit now.
    fn take(&mut self, ev: Event<'a>) -> Vec<Event<'a>> {
        let ev = safe(ev);
        match ev {
            Event::Start(Tag::Table(_)) => {
                *self = Table::default();
                vec![ev]
            }
            Event::Start(Tag::TableHead) => {
                self.in_head = true;
                vec![ev]
            }
            Event::End(TagEnd::TableHead) => {
                self.in_head = false;
                vec![ev]
            }
            Event::Start(Tag::TableCell) if self.in_head => {
                self.headers.push(String::new());
                vec![ev]
            }
            Event::Start(Tag::TableCell) => {
                self.cell = Some(Cell::default());
                Vec::new()
            }
            Event::End(TagEnd::TableCell) if !self.in_head => {
                self.row.extend(self.cell.take());
                Vec::new()
            }
            Event::End(TagEnd::TableRow) => {
                let mut out = self.row_events();
                out.push(ev);
                out
            }
            ev => {
                let text = match &ev {
                    Event::Text(t) | Event::Code(t) => Some(t.to_string()),
                    Event::InlineHtml(_) | Event::SoftBreak | Event::HardBreak => {
                        Some(" ".to_string())
                    }
                    _ => None,
                };
                if self.in_head {
                    if let (Some(h), Some(t)) = (self.headers.last_mut(), &text) {
                        h.push_str(t);
                    }
                    vec![ev]
                } else if let Some(c) = self.cell.as_mut() {
                    c.text.push_str(text.as_deref().unwrap_or(""));
                    c.events.push(ev);
                    Vec::new()
                } else {
                    vec![ev]
                }
            }
        }
    }

    /// The cells of the finished row, each as `<td title="…">` and its events.
    fn row_events(&mut self) -> Vec<Event<'a>> {
        let row = std::mem::take(&mut self.row);
        let key: Vec<&str> = row.iter().take(2).map(|c| c.text.trim()).collect();
        let key = if self.headers.len() > 2 {
            key.join(" / ")
        } else {
            key.first().copied().unwrap_or_default().to_string()
        };
        let mut out = Vec::new();
        for (i, cell) in row.into_iter().enumerate() {
            let header = self.headers.get(i).map_or("", |h| h.trim());
            let title = if i == 0 || key.is_empty() {
                header.to_string()
            } else {
                format!("{header}: {key}")
            };
            out.push(Event::InlineHtml(CowStr::from(format!(
                "<td title=\"{}\">",
                super::escape(&title)
            ))));
            out.extend(cell.events);
            out.push(Event::InlineHtml(CowStr::Borrowed("</td>")));
        }
        out
    }
}

/// Raw HTML in the markdown becomes text unless it is a line break.
fn safe(ev: Event<'_>) -> Event<'_> {
    match ev {
        Event::InlineHtml(h) if is_break(&h) => Event::InlineHtml(CowStr::Borrowed("<br>")),
        Event::InlineHtml(h) | Event::Html(h) => Event::Text(h),
        ev => ev,
    }
}

fn is_break(h: &str) -> bool {
    matches!(h.trim(), "<br>" | "<br/>" | "<br />")
}

/// The markdown as HTML (tables enabled), with hover titles on the body cells of tables.
pub fn to_html(md: &str) -> String {
    let mut table = Table::default();
    let events: Vec<Event<'_>> = Parser::new_ext(md, Options::ENABLE_TABLES)
        .flat_map(|ev| table.take(ev))
        .collect();
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.into_iter());
    out
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn body_cells_get_titles_and_raw_html_is_text() {
        let md = "| workload | strategy | ops |\n|---|---|---|\n| cycles | refcount | 12 |\n\nA <script>x</script> b<br>c\n";
        let h = to_html(md);
        assert!(
            h.contains("<td title=\"ops: cycles / refcount\">12</td>"),
            "{h}"
        );
        assert!(h.contains("<td title=\"workload\">cycles</td>"), "{h}");
        assert!(h.contains("<th>ops</th>"), "{h}");
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
        assert!(h.contains("b<br>c"), "{h}");
    }
}
