//! PDF: blanks document properties in place, so every byte offset (and with it the
//! cross-reference table) stays valid without holding the file back:
//! - the values of `/Author`, `/Creator`, `/Producer`, `/Title`, `/Subject`, `/Keywords`,
//!   `/CreationDate`, `/ModDate` and `/Company` become spaces (literal strings) or zeros (hex
//!   strings);
//! - the content of metadata streams (XMP, `/Type /Metadata`) becomes spaces.
//!
//! Properties kept inside compressed object streams (`/ObjStm`) cannot be reached this way;
//! the report says so when the file has any. Memory: a 16-byte window and at most 9 held bytes.

use std::collections::VecDeque;

use super::Removed;

const KEYS: [&[u8]; 9] = [
    b"/Author",
    b"/Creator",
    b"/Producer",
    b"/Title",
    b"/Subject",
    b"/Keywords",
    b"/CreationDate",
    b"/ModDate",
    b"/Company",
];
const WINDOW: usize = 16;
const END_STREAM: &[u8] = b"endstream";

pub const COMPRESSED_PARTS: &str =
    "document properties kept in compressed parts of this PDF could not be checked";

enum State {
    Normal,
    /// After a property key, before its value.
    AwaitValue,
    Literal {
        depth: u32,
        escaped: bool,
    },
    Hex,
    /// Inside a stream; `blank` for metadata streams.
    Stream {
        blank: bool,
        held: VecDeque<u8>,
    },
}

pub struct Pdf {
    state: State,
    recent: VecDeque<u8>,
    /// `/Metadata` seen since the current object began.
    metadata_object: bool,
    removed: Removed,
    compressed_parts: bool,
}

fn is_delimiter(byte: u8) -> bool {
    byte.is_ascii_whitespace() || b"()<>[]{}/%".contains(&byte)
}

impl Pdf {
    pub fn new() -> Pdf {
        Pdf {
            state: State::Normal,
            recent: VecDeque::with_capacity(WINDOW + 1),
            metadata_object: false,
            removed: Removed::default(),
            compressed_parts: false,
        }
    }

    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &byte in input {
            self.byte(byte, out);
        }
    }

    /// What was removed, and whether some parts could not be checked.
    pub fn finish(mut self, out: &mut Vec<u8>) -> (Removed, bool) {
        if let State::Stream { blank, held } = &mut self.state {
            let blank = *blank;
            for byte in held.drain(..) {
                out.push(if blank { b' ' } else { byte });
            }
        }
        (self.removed, self.compressed_parts)
    }

    fn ends_with(&self, word: &[u8]) -> bool {
        self.recent.len() >= word.len()
            && self
                .recent
                .iter()
                .skip(self.recent.len() - word.len())
                .eq(word.iter())
    }

    /// The byte before the last `len` bytes of the window, if any.
    fn before(&self, len: usize) -> Option<u8> {
        self.recent
            .len()
            .checked_sub(len + 1)
            .and_then(|index| self.recent.get(index).copied())
    }

    fn remember(&mut self, byte: u8) {
        self.recent.push_back(byte);
        if self.recent.len() > WINDOW {
            self.recent.pop_front();
        }
    }

    fn byte(&mut self, byte: u8, out: &mut Vec<u8>) {
        match &mut self.state {
            State::Normal => self.normal(byte, out),
            State::AwaitValue => {
                out.push(byte);
                self.state = match byte {
                    b'(' => State::Literal {
                        depth: 1,
                        escaped: false,
                    },
                    b'<' => State::Hex,
                    _ if byte.is_ascii_whitespace() => State::AwaitValue,
                    _ => State::Normal,
                };
                self.note_property(byte);
                self.remember(byte);
            }
            State::Literal { depth, escaped } => {
                if *escaped {
                    *escaped = false;
                    out.push(b' ');
                } else if byte == b'\\' {
                    *escaped = true;
                    out.push(b' ');
                } else if byte == b'(' {
                    *depth += 1;
                    out.push(b' ');
                } else if byte == b')' {
                    *depth -= 1;
                    if *depth == 0 {
                        out.push(b')');
                        self.state = State::Normal;
                        self.remember(byte);
                    } else {
                        out.push(b' ');
                    }
                } else {
                    out.push(b' ');
                }
            }
            State::Hex => {
                if byte == b'>' {
                    out.push(byte);
                    self.state = State::Normal;
                    self.remember(byte);
                } else if byte.is_ascii_hexdigit() {
                    out.push(b'0');
                } else if byte == b'<' {
                    // `<<`: a dictionary, not a hex string; nothing to blank.
                    out.push(byte);
                    self.state = State::Normal;
                    self.remember(byte);
                } else {
                    out.push(byte);
                }
            }
            State::Stream { blank, held } => {
                held.push_back(byte);
                if held.len() >= END_STREAM.len()
                    && held
                        .iter()
                        .skip(held.len() - END_STREAM.len())
                        .eq(END_STREAM.iter())
                {
                    let keep = held.len() - END_STREAM.len();
                    let blank = *blank;
                    for (index, held_byte) in held.drain(..).enumerate() {
                        out.push(if blank && index < keep {
                            b' '
                        } else {
                            held_byte
                        });
                    }
                    self.state = State::Normal;
                    self.recent.clear();
                    self.recent.extend(END_STREAM.iter().copied());
                } else if held.len() > END_STREAM.len()
                    && let Some(front) = held.pop_front()
                {
                    out.push(if *blank { b' ' } else { front });
                }
            }
        }
    }

    fn note_property(&mut self, byte: u8) {
        if matches!(self.state, State::Literal { .. } | State::Hex)
            && (byte == b'(' || byte == b'<')
        {
            self.removed
                .add("document properties (author, title, software, dates)");
        }
    }

    fn normal(&mut self, byte: u8, out: &mut Vec<u8>) {
        if is_delimiter(byte) {
            if KEYS.iter().any(|key| self.ends_with(key)) {
                out.push(byte);
                self.state = match byte {
                    b'(' => State::Literal {
                        depth: 1,
                        escaped: false,
                    },
                    b'<' => State::Hex,
                    _ if byte.is_ascii_whitespace() => State::AwaitValue,
                    _ => State::Normal,
                };
                self.note_property(byte);
                self.remember(byte);
                return;
            }
            if self.ends_with(b"/Metadata") {
                self.metadata_object = true;
            }
            if self.ends_with(b"/ObjStm") {
                self.compressed_parts = true;
            }
            if self.ends_with(b"obj") {
                self.metadata_object = false;
            }
            if (byte == b'\r' || byte == b'\n')
                && self.ends_with(b"stream")
                && self.before(6).is_none_or(is_delimiter)
            {
                out.push(byte);
                let blank = self.metadata_object;
                if blank {
                    self.removed
                        .add("XMP metadata (author, software, editing history)");
                }
                self.state = State::Stream {
                    blank,
                    held: VecDeque::with_capacity(END_STREAM.len() + 1),
                };
                return;
            }
        }
        out.push(byte);
        self.remember(byte);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::strip::tests::strip_in_steps;

    fn sample() -> Vec<u8> {
        b"%PDF-1.7\n\
1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>\nendobj\n\
3 0 obj\n<< /Length 21 >>\nstream\nBT (Jane Doe) Tj ET\r\nendstream\nendobj\n\
4 0 obj\n<< /Type /Metadata /Subtype /XML /Length 40 >>\nstream\n<x:xmpmeta>Jane Doe, Word</x:xmpmeta>\nendstream\nendobj\n\
5 0 obj\n<< /Author (Jane \\(J\\) Doe) /Producer <FEFF004A> /Title(Rota (draft)) /CreationDate (D:20261101) /Pages 2 0 R >>\nendobj\n\
trailer\n<< /Info 5 0 R /Root 1 0 R >>\n%%EOF\n"
            .to_vec()
    }

    #[test]
    fn properties_and_xmp_are_blanked_in_place() {
        let input = sample();
        for step in [1, 2, 7, 64, input.len()] {
            let (out, report) = strip_in_steps(&input, step).unwrap();
            assert_eq!(out.len(), input.len(), "offsets stay valid (step {step})");
            let text = String::from_utf8_lossy(&out);
            // The page's own text is untouched; properties and XMP are gone.
            assert!(text.contains("BT (Jane Doe) Tj ET"), "{text}");
            assert_eq!(text.matches("Jane").count(), 1, "{text}");
            assert!(!text.contains("Word"), "{text}");
            assert!(
                !text.contains("draft") && !text.contains("D:2026"),
                "{text}"
            );
            assert!(text.contains("/Producer <00000000>"), "{text}");
            assert!(text.contains("/Author (              )"), "{text}");
            assert!(text.contains("/Pages 2 0 R >>"), "{text}");
            assert!(text.contains("endstream\nendobj"), "{text}");
            assert_eq!(report.removed.len(), 2, "{:?}", report.removed);
            assert!(!report.not_removed.join(" ").contains("compressed parts"));
        }
    }

    /// A PDF written by pypdf with author, title, producer and date: same length, none left,
    /// and (checked by hand with pypdf when this test was written) it still opens, with empty
    /// properties.
    #[test]
    fn a_real_pdf_keeps_its_layout_and_loses_its_properties() {
        let input = include_bytes!("../../tests/fixtures/document-with-properties.pdf");
        let (out, report) = strip_in_steps(input, 100).unwrap();
        assert_eq!(out.len(), input.len());
        let text = String::from_utf8_lossy(&out);
        for gone in ["Jane", "Rota", "Microsoft", "2026"] {
            assert!(!text.contains(gone), "{gone}");
        }
        assert!(text.contains("/Info 1 0 R"));
        assert!(report.removed[0].contains("document properties"));
    }

    #[test]
    fn compressed_object_streams_are_reported() {
        let mut input = b"%PDF-1.5\n6 0 obj\n<< /Type /ObjStm /N 3 /First 20 /Length 4 >>\nstream\nxxxx\nendstream\nendobj\n".to_vec();
        input.extend_from_slice(b"%%EOF\n");
        let (out, report) = strip_in_steps(&input, 3).unwrap();
        assert_eq!(out, input);
        assert!(report.not_removed.join(" ").contains("compressed parts"));
    }
}
