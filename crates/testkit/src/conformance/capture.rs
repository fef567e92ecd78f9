//! Capturing everything a connector logs through `tracing` while the trials run.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::Dispatch;
use tracing_subscriber::fmt::MakeWriter;

/// The text of every event (with its span context) logged at any level.
#[derive(Clone, Default)]
pub(crate) struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Capture {
    /// A dispatcher writing into this capture at TRACE level.
    pub(crate) fn dispatch(&self) -> Dispatch {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        Dispatch::new(subscriber)
    }

    /// What was logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock()).into_owned()
    }
}

/// One write handle into the capture.
pub(crate) struct CaptureWriter {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl io::Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.lock().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter {
            buffer: self.buffer.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_span_fields_are_captured() {
        let capture = Capture::default();
        tracing::dispatcher::with_default(&capture.dispatch(), || {
            let span = tracing::info_span!("call", vendor = "demo");
            let _entered = span.enter();
            tracing::trace!(token = "abc123", "fetched");
        });
        let text = capture.text();
        assert!(text.contains("abc123") && text.contains("vendor"), "{text}");
    }
}
