//! The receive buffer: starts small and grows to whatever the kernel says the
//! next datagram needs, so nothing is ever truncated.

/// Initial size of a client's receive buffer.
pub const INITIAL_RECV_BUFFER: usize = 4096;

const PAGE: usize = 4096;

#[derive(Debug)]
pub(crate) struct RecvBuffer {
    bytes: Vec<u8>,
}

impl RecvBuffer {
    pub fn new() -> RecvBuffer {
        RecvBuffer {
            bytes: vec![0; INITIAL_RECV_BUFFER],
        }
    }

    /// Makes room for a datagram of `datagram_len` bytes (as a
    /// `MSG_PEEK|MSG_TRUNC` receive reported it) and returns the whole
    /// buffer to receive into.
    pub fn room_for(&mut self, datagram_len: usize) -> &mut [u8] {
        let len = grown_len(self.bytes.len(), datagram_len);
        if len > self.bytes.len() {
            self.bytes.resize(len, 0);
        }
        &mut self.bytes
    }

    pub fn filled(&self, len: usize) -> &[u8] {
        &self.bytes[..len.min(self.bytes.len())]
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// The buffer size needed to hold a `needed`-byte datagram when the buffer
/// is `current` bytes now. Never shrinks; grows in whole pages, so a
/// datagram a few bytes larger than the last one does not reallocate again.
pub(crate) fn grown_len(current: usize, needed: usize) -> usize {
    if needed <= current {
        current
    } else {
        needed.div_ceil(PAGE).saturating_mul(PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn starts_at_initial_size() {
        assert_eq!(RecvBuffer::new().len(), INITIAL_RECV_BUFFER);
    }

    #[test]
    fn grows_for_a_big_datagram_and_keeps_the_size() {
        let mut buf = RecvBuffer::new();
        assert_eq!(buf.room_for(100).len(), 4096);
        assert_eq!(buf.room_for(4096).len(), 4096);
        assert_eq!(buf.room_for(4097).len(), 8192);
        assert_eq!(buf.room_for(20_000).len(), 20_480);
        assert_eq!(buf.room_for(10).len(), 20_480);
    }

    proptest! {
        #[test]
        fn grown_len_fits_never_shrinks_and_is_page_sized(current in 0usize..1 << 20, needed in 0usize..1 << 20) {
            let len = grown_len(current, needed);
            prop_assert!(len >= needed);
            prop_assert!(len >= current);
            if needed > current {
                prop_assert_eq!(len % PAGE, 0);
                prop_assert!(len - needed < PAGE);
            } else {
                prop_assert_eq!(len, current);
            }
        }
    }
}
