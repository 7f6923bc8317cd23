//! Pure: removes identifying metadata from files as they stream through, before they are sealed.
//! No IO and no clock; a stripper is fed slices of any size and holds at most one metadata
//! header at a time, so memory stays bounded whatever the file size.
//!
//! The file type is decided from the first bytes, never from the name or the browser's claimed
//! type. Unknown types pass through unchanged and the report says nothing could be removed.

mod detect;

pub use detect::FileKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripError {
    /// The file claims to be a known format but its structure is broken; storing it unchanged
    /// could keep the very metadata the reporter was promised would go.
    #[error("the {0} file is damaged and cannot be cleaned")]
    Malformed(&'static str),
}

/// What was done to a file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StripReport {
    pub kind: Option<FileKind>,
    /// Plain words for what was removed, e.g. "EXIF data (camera, date, GPS position)".
    pub removed: Vec<String>,
}

enum State {
    /// Collecting the first bytes to tell the type.
    Sniffing(Vec<u8>),
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
        match self.state {
            State::Passing(kind) => Ok(StripReport {
                kind,
                removed: Vec::new(),
            }),
            State::Sniffing(_) => Ok(StripReport::default()),
        }
    }

    fn start(&mut self, head: &[u8], out: &mut Vec<u8>) -> Result<(), StripError> {
        self.state = State::Passing(detect::detect(head));
        out.extend_from_slice(head);
        Ok(())
    }
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
            }
        }
    }
}
