//! Pure: removes identifying metadata from files as they stream through, before they are sealed.
//! No IO and no clock; a stripper is fed slices of any size and holds at most one metadata
//! header at a time (for HEIC, one `meta` box of at most 1 MiB), so memory stays bounded
//! whatever the file size.
//!
//! The file type is decided from the first bytes, never from the name or the browser's claimed
//! type. Unknown types pass through unchanged, and the report says what could not be removed.

mod detect;
mod heic;
mod jpeg;
mod pdf;
mod png;
mod webp;

pub use detect::FileKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    /// The file claims to be a known format but its structure is broken; storing it unchanged
    /// could keep the very metadata the reporter was told would go.
    #[error(
        "this {0} file looks damaged, so its hidden details (such as location) cannot be removed \
         safely; open it and save a copy, or take a screenshot, and attach that instead"
    )]
    Malformed(&'static str),
}

/// Plain-language descriptions of what was removed, each once, in the order found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removed(Vec<String>);

impl Removed {
    fn add(&mut self, what: &str) {
        if !self.0.iter().any(|known| known == what) {
            self.0.push(what.to_owned());
        }
    }
}

/// What was done to a file, and what no stripping can do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StripReport {
    pub kind: Option<FileKind>,
    pub removed: Vec<String>,
    /// What stays in the file and may still identify someone.
    pub not_removed: Vec<String>,
}

enum State {
    /// Collecting the first bytes to tell the type.
    Sniffing(Vec<u8>),
    Jpeg(jpeg::Jpeg),
    Png(png::Png),
    Webp(webp::Webp),
    Pdf(pdf::Pdf),
    Heic(heic::Heic),
    Passing(Option<FileKind>),
}

/// Streams a file through, cleaning what it can.
pub struct Stripper {
    state: State,
}

impl Default for Stripper {
    fn default() -> Self {
        Self::new()
    }
}

impl Stripper {
    pub fn new() -> Stripper {
        Stripper {
            state: State::Sniffing(Vec::with_capacity(detect::SNIFF_LEN)),
        }
    }

    /// Appends the cleaned form of `input` (as far as it is known) to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), StripError> {
        match &mut self.state {
            State::Sniffing(head) => {
                let take = (detect::SNIFF_LEN - head.len()).min(input.len());
                head.extend_from_slice(&input[..take]);
                if head.len() < detect::SNIFF_LEN {
                    return Ok(());
                }
                let head = std::mem::take(head);
                self.start(&head, out)?;
                self.push(&input[take..], out)
            }
            State::Jpeg(jpeg) => jpeg.push(input, out),
            State::Png(png) => png.push(input, out),
            State::Webp(webp) => webp.push(input, out),
            State::Pdf(pdf) => {
                pdf.push(input, out);
                Ok(())
            }
            State::Heic(heic) => heic.push(input, out),
            State::Passing(_) => {
                out.extend_from_slice(input);
                Ok(())
            }
        }
    }

    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<StripReport, StripError> {
        if let State::Sniffing(head) = &mut self.state {
            let head = std::mem::take(head);
            self.start(&head, out)?;
        }
        let mut unchecked = false;
        let mut heic_not_cleaned = false;
        let (kind, removed) = match self.state {
            State::Jpeg(jpeg) => (Some(FileKind::Jpeg), jpeg.finish()),
            State::Png(png) => (Some(FileKind::Png), png.finish()),
            State::Webp(webp) => (Some(FileKind::Webp), webp.finish()),
            State::Pdf(pdf) => {
                let (removed, compressed) = pdf.finish(out);
                unchecked = compressed;
                (Some(FileKind::Pdf), removed)
            }
            State::Heic(heic) => {
                let (removed, not_cleaned) = heic.finish(out)?;
                heic_not_cleaned = not_cleaned;
                (Some(FileKind::Heic), removed)
            }
            State::Passing(kind) => (kind, Removed::default()),
            State::Sniffing(_) => (None, Removed::default()),
        };
        let mut not_removed = not_removed(kind);
        if unchecked {
            not_removed.insert(0, pdf::COMPRESSED_PARTS.to_owned());
        }
        if heic_not_cleaned {
            not_removed.insert(0, heic::NOT_CLEANED.to_owned());
        }
        Ok(StripReport {
            kind,
            removed: removed.0,
            not_removed,
        })
    }

    fn start(&mut self, head: &[u8], out: &mut Vec<u8>) -> Result<(), StripError> {
        let kind = detect::detect(head);
        self.state = match kind {
            Some(FileKind::Jpeg) => State::Jpeg(jpeg::Jpeg::new()),
            Some(FileKind::Png) => State::Png(png::Png::new()),
            Some(FileKind::Webp) => State::Webp(webp::Webp::new()),
            Some(FileKind::Pdf) => State::Pdf(pdf::Pdf::new()),
            Some(FileKind::Heic) => State::Heic(heic::Heic::new()),
            other => State::Passing(other),
        };
        self.push(head, out)
    }
}

/// Longest file name kept; longer ones are shortened, keeping the extension.
const MAX_NAME_CHARS: usize = 120;

/// A file name safe to show and to offer back as a download name: no path, no control
/// characters, not empty, not absurdly long.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let cleaned = if cleaned.is_empty() {
        "attachment".to_owned()
    } else {
        cleaned.to_owned()
    };
    if cleaned.chars().count() <= MAX_NAME_CHARS {
        return cleaned;
    }
    let extension = cleaned
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| ext.chars().count() <= 10)
        .unwrap_or("");
    let keep = MAX_NAME_CHARS - extension.chars().count() - 1;
    let stem: String = cleaned.chars().take(keep).collect();
    if extension.is_empty() {
        stem
    } else {
        format!("{stem}.{extension}")
    }
}

/// The honest list: what stripping cannot do for this kind of file.
fn not_removed(kind: Option<FileKind>) -> Vec<String> {
    let mut notes: Vec<&str> = Vec::new();
    match kind {
        Some(FileKind::Jpeg | FileKind::Png | FileKind::Webp | FileKind::Heic) => {
            notes.push(
                "what the picture shows: faces, name badges, screens, documents, windows or \
                 reflections that reveal who or where you are",
            );
        }
        Some(FileKind::Pdf) => {
            notes.push(
                "the text and pictures inside the document, including names, signatures, \
                 comments, form fields and any files embedded in it",
            );
        }
        None => {
            notes.push(
                "hidden details in this kind of file (for example author names in office \
                 documents) are not removed",
            );
            notes.push("the text and pictures inside the file");
        }
    }
    notes.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;

    /// Runs `input` through a stripper in slices of `step` bytes.
    pub fn strip_in_steps(input: &[u8], step: usize) -> Result<(Vec<u8>, StripReport), StripError> {
        let mut stripper = Stripper::new();
        let mut out = Vec::new();
        for piece in input.chunks(step.max(1)) {
            stripper.push(piece, &mut out)?;
        }
        let report = stripper.finish(&mut out)?;
        Ok((out, report))
    }

    #[test]
    fn unknown_and_short_files_pass_through() {
        for input in [&b""[..], b"hi", b"plain text that is long enough to sniff"] {
            for step in [1, 3, 100] {
                let (out, report) = strip_in_steps(input, step).unwrap();
                assert_eq!(out, input);
                assert!(report.removed.is_empty());
                assert!(!report.not_removed.is_empty());
            }
        }
    }

    #[test]
    fn every_kind_says_what_stays() {
        for kind in [
            None,
            Some(FileKind::Jpeg),
            Some(FileKind::Png),
            Some(FileKind::Webp),
            Some(FileKind::Heic),
            Some(FileKind::Pdf),
        ] {
            assert!(!not_removed(kind).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_file_name("rota.jpg"), "rota.jpg");
        assert_eq!(clean_file_name("C:\\Users\\me\\rota.jpg"), "rota.jpg");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        assert_eq!(clean_file_name("a\"b<c>\r\n.pdf"), "abc.pdf");
        assert_eq!(clean_file_name(""), "attachment");
        assert_eq!(clean_file_name("///"), "attachment");
        assert_eq!(
            clean_file_name("Übersicht Station 7.pdf"),
            "Übersicht Station 7.pdf"
        );
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_file_name(&long);
        assert_eq!(cleaned.chars().count(), MAX_NAME_CHARS);
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn a_short_jpeg_is_cleaned_even_below_the_sniff_length() {
        // SOI + EOI: 4 bytes, fewer than the sniffing window.
        let (out, report) = strip_in_steps(b"\xFF\xD8\xFF\xD9", 1).unwrap();
        assert_eq!(out, b"\xFF\xD8\xFF\xD9");
        assert_eq!(report.kind, Some(FileKind::Jpeg));
    }
}
