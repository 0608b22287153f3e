//! `NLMSG_ERROR` and `NLMSG_DONE` payloads, with extended acks.
//!
//! netlink-packet-core keeps everything after the error code as opaque
//! bytes, so the `NLMSGERR_ATTR_*` TLVs are parsed here.

use netlink_packet_core::{NlasIterator, NLM_F_ACK_TLVS, NLM_F_CAPPED};

const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;
const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

const NLMSG_HDRLEN: usize = 16;

/// The kernel's answer to a request: an errno (0 for success) plus whatever
/// extended-ack attributes came with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ack {
    /// Positive errno; 0 means success.
    pub errno: i32,
    pub ext: ExtAck,
}

/// Extended-ack attributes (`NLMSGERR_ATTR_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExtAck {
    /// Human-readable text (`NLMSGERR_ATTR_MSG`).
    pub message: Option<String>,
    /// Offset of the offending attribute in the request
    /// (`NLMSGERR_ATTR_OFFS`), counted from the request's netlink header.
    pub offset: Option<u32>,
    /// Type of a required attribute that was missing.
    pub missing_type: Option<u16>,
    /// Offset of the nest the missing attribute belongs in.
    pub missing_nest: Option<u32>,
}

impl ExtAck {
    /// The attribute type the kernel pointed at in `request`: the one at
    /// the error offset, or else the missing one.
    pub fn attribute(&self, request: &[u8]) -> Option<u16> {
        let at_offset = self.offset.and_then(|off| {
            let off = usize::try_from(off).ok()?;
            let kind = request.get(off + 2..off + 4)?;
            Some(u16::from_ne_bytes([kind[0], kind[1]]) & netlink_packet_core::NLA_TYPE_MASK)
        });
        at_offset.or(self.missing_type)
    }
}

/// Parses an `NLMSG_ERROR` payload. `flags` are the error message's own
/// header flags: `NLM_F_CAPPED` says the echoed request was cut to its
/// header, `NLM_F_ACK_TLVS` says extended-ack attributes follow it.
///
/// Only the error code is required. The extended ack is a courtesy: when
/// the echoed request or the attributes after it are malformed, what can
/// be read of them is kept and the rest ignored, so the errno still
/// reaches the caller.
pub(crate) fn parse_error(flags: u16, payload: &[u8]) -> Result<Ack, String> {
    let errno = read_errno(payload)?;
    let ext = if flags & NLM_F_ACK_TLVS != 0 {
        echoed_request_len(flags, &payload[4..])
            .and_then(|len| payload[4..].get(len..))
            .map(parse_tlvs)
            .unwrap_or_default()
    } else {
        ExtAck::default()
    };
    Ok(Ack { errno, ext })
}

/// How many bytes of `echoed` (what follows the error code) the echoed
/// request takes, padding included; `None` when that cannot be told.
fn echoed_request_len(flags: u16, echoed: &[u8]) -> Option<usize> {
    let header = echoed.get(..NLMSG_HDRLEN)?;
    if flags & NLM_F_CAPPED != 0 {
        return Some(NLMSG_HDRLEN);
    }
    let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]);
    align4(usize::try_from(len).ok()?.max(NLMSG_HDRLEN))
}

/// Parses an `NLMSG_DONE` payload: an optional error code (dumps report
/// failures there), then extended-ack attributes when `NLM_F_ACK_TLVS` is
/// set.
pub(crate) fn parse_done(flags: u16, payload: &[u8]) -> Result<Ack, String> {
    // Some families end dumps with an empty NLMSG_DONE.
    if payload.is_empty() {
        return Ok(Ack::default());
    }
    let errno = read_errno(payload)?;
    let ext = if flags & NLM_F_ACK_TLVS != 0 {
        parse_tlvs(&payload[4..])
    } else {
        ExtAck::default()
    };
    Ok(Ack { errno, ext })
}

fn read_errno(payload: &[u8]) -> Result<i32, String> {
    let code = payload
        .get(..4)
        .ok_or_else(|| format!("error payload of {} bytes has no error code", payload.len()))?;
    let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
    // The kernel sends negative errnos; accept either sign.
    Ok(if code < 0 {
        code.saturating_neg()
    } else {
        code
    })
}

/// Reads the extended-ack attributes. A value of the wrong size is
/// skipped; a malformed attribute ends the reading (nothing after it can
/// be found), keeping what came before.
fn parse_tlvs(bytes: &[u8]) -> ExtAck {
    let mut ext = ExtAck::default();
    for nla in NlasIterator::new(bytes) {
        let Ok(nla) = nla else { break };
        let value = nla.value();
        match nla.kind() {
            NLMSGERR_ATTR_MSG => {
                let text = value.split(|&b| b == 0).next().unwrap_or_default();
                ext.message = Some(String::from_utf8_lossy(text).into_owned());
            }
            NLMSGERR_ATTR_OFFS => ext.offset = read_u32(value).or(ext.offset),
            NLMSGERR_ATTR_MISS_TYPE => {
                let kind = read_u32(value).and_then(|k| u16::try_from(k).ok());
                ext.missing_type = kind.or(ext.missing_type);
            }
            NLMSGERR_ATTR_MISS_NEST => ext.missing_nest = read_u32(value).or(ext.missing_nest),
            // Cookies and policies are for other netlink families.
            _ => {}
        }
    }
    ext
}

fn read_u32(value: &[u8]) -> Option<u32> {
    match value {
        [a, b, c, d] => Some(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => None,
    }
}

/// `len` rounded up to the netlink alignment; `None` past `usize::MAX`.
fn align4(len: usize) -> Option<usize> {
    Some(len.checked_add(3)? & !3)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request both captures below answer, as this client sent it:
    /// RTM_NEWADDR for 192.0.2.1/24 on ifindex 3, flags
    /// REQUEST|ACK|EXCL|CREATE, seq 5.
    const NEWADDR_REQUEST: &[u8] = &[
        0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // nlmsghdr
        0x02, 0x18, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, // ifaddrmsg
        0x08, 0x00, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, // IFA_LOCAL
        0x08, 0x00, 0x01, 0x00, 0xc0, 0x00, 0x02, 0x01, // IFA_ADDRESS
    ];

    /// The kernel's answer to `NEWADDR_REQUEST` for an address the link
    /// already had, as this client received it (NETLINK_CAP_ACK and
    /// NETLINK_EXT_ACK set), captured with strace: NLMSG_ERROR with flags
    /// NLM_F_CAPPED|NLM_F_ACK_TLVS, errno -EEXIST, the request's header,
    /// then NLMSGERR_ATTR_MSG.
    const CAPTURED_CAPPED: &[u8] = &[
        0x48, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x05, 0x00, 0x00, 0x00, 0x9f, 0x5f, 0x00,
        0x00, 0xef, 0xff, 0xff, 0xff, 0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06, 0x05, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x23, 0x00, 0x01, 0x00, 0x69, 0x70, 0x76, 0x34, 0x3a,
        0x20, 0x41, 0x64, 0x64, 0x72, 0x65, 0x73, 0x73, 0x20, 0x61, 0x6c, 0x72, 0x65, 0x61, 0x64,
        0x79, 0x20, 0x61, 0x73, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x64, 0x00, 0x00,
    ];

    /// The same error as `ip address add 192.0.2.1/24 dev d0` received it
    /// (NETLINK_EXT_ACK only), captured with strace: flags
    /// NLM_F_ACK_TLVS, and the whole 40-byte request echoed before the
    /// attributes. ip's request differs from ours only in its sequence
    /// number.
    const CAPTURED_FROM_IP: &[u8] = &[
        0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x02, 0xad, 0x56, 0x02, 0x6b, 0xc3, 0x7e, 0x00,
        0x00, 0xef, 0xff, 0xff, 0xff, 0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06, 0xad, 0x56,
        0x02, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x08, 0x00, 0x01, 0x00, 0xc0, 0x00, 0x02, 0x01,
        0x23, 0x00, 0x01, 0x00, 0x69, 0x70, 0x76, 0x34, 0x3a, 0x20, 0x41, 0x64, 0x64, 0x72, 0x65,
        0x73, 0x73, 0x20, 0x61, 0x6c, 0x72, 0x65, 0x61, 0x64, 0x79, 0x20, 0x61, 0x73, 0x73, 0x69,
        0x67, 0x6e, 0x65, 0x64, 0x00, 0x00,
    ];

    #[test]
    fn captured_duplicate_address_errors_carry_the_kernels_text() {
        for (captured, flags) in [
            (CAPTURED_CAPPED, NLM_F_CAPPED | NLM_F_ACK_TLVS),
            (CAPTURED_FROM_IP, NLM_F_ACK_TLVS),
        ] {
            let m = &crate::netlink::split_messages(captured).unwrap()[0];
            assert_eq!(m.kind, netlink_packet_core::NLMSG_ERROR);
            assert_eq!(m.flags, flags);
            let ack = parse_error(m.flags, m.payload()).unwrap();
            assert_eq!(ack.errno, libc::EEXIST);
            assert_eq!(
                ack.ext.message.as_deref(),
                Some("ipv4: Address already assigned")
            );
            assert_eq!(ack.ext.offset, None);
            assert_eq!(ack.ext.attribute(NEWADDR_REQUEST), None);
        }
    }

    #[test]
    fn plain_ack_is_success() {
        let mut payload = vec![0u8; 4];
        payload.extend_from_slice(&[16, 0, 0, 0, 0x10, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        let ack = parse_error(NLM_F_CAPPED, &payload).unwrap();
        assert_eq!(ack, Ack::default());
    }

    #[test]
    fn uncapped_error_skips_the_echoed_request() {
        // errno EINVAL, echoed 24-byte request (header + 8 bytes), then an
        // offset attribute pointing at byte 16 of the request.
        let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
        payload.extend_from_slice(&24u32.to_ne_bytes());
        payload.extend_from_slice(&[0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&[8, 0, 4, 0, 0xdc, 0x05, 0, 0]); // request: IFLA_MTU
        payload.extend_from_slice(&[8, 0, 2, 0, 16, 0, 0, 0]); // NLMSGERR_ATTR_OFFS = 16
        let ack = parse_error(NLM_F_ACK_TLVS, &payload).unwrap();
        assert_eq!(ack.errno, libc::EINVAL);
        assert_eq!(ack.ext.offset, Some(16));
        let request = &payload[4..28];
        assert_eq!(ack.ext.attribute(request), Some(4));
    }

    #[test]
    fn missing_attribute_is_reported() {
        let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[16, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&[8, 0, 5, 0, 3, 0, 0, 0]); // MISS_TYPE = 3
        payload.extend_from_slice(&[8, 0, 6, 0, 32, 0, 0, 0]); // MISS_NEST = 32
        let ack = parse_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &payload).unwrap();
        assert_eq!(ack.ext.missing_type, Some(3));
        assert_eq!(ack.ext.missing_nest, Some(32));
        assert_eq!(ack.ext.attribute(&[]), Some(3));
    }

    #[test]
    fn done_with_error_and_message() {
        let mut payload = (-libc::EOPNOTSUPP).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[9, 0, 1, 0, b'n', b'o', b'p', b'e', 0, 0, 0, 0]);
        let ack = parse_done(NLM_F_ACK_TLVS, &payload).unwrap();
        assert_eq!(ack.errno, libc::EOPNOTSUPP);
        assert_eq!(ack.ext.message.as_deref(), Some("nope"));
        assert_eq!(parse_done(0, &[]).unwrap(), Ack::default());
        assert_eq!(parse_done(0, &[0, 0, 0, 0]).unwrap(), Ack::default());
    }

    #[test]
    fn only_a_missing_error_code_is_an_error() {
        assert!(parse_error(0, &[]).is_err());
        assert!(parse_error(0, &[0xea, 0xff]).is_err());
        assert!(parse_done(NLM_F_ACK_TLVS, &[1, 2]).is_err());
    }

    #[test]
    fn a_malformed_extended_ack_keeps_the_errno() {
        let eperm = (-libc::EPERM).to_ne_bytes();
        let header = [16, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        let cases: [(u16, Vec<u8>); 4] = [
            // The echoed request is cut short.
            (NLM_F_ACK_TLVS, [&eperm[..], &[1, 2]].concat()),
            // It claims more bytes than there are.
            (
                NLM_F_ACK_TLVS,
                [&eperm[..], &[200, 0, 0, 0], &header[4..]].concat(),
            ),
            // An attribute whose length runs past the end.
            (
                NLM_F_CAPPED | NLM_F_ACK_TLVS,
                [&eperm[..], &header, &[40, 0, 1, 0, b'x', 0, 0, 0]].concat(),
            ),
            // An offset of the wrong size.
            (
                NLM_F_CAPPED | NLM_F_ACK_TLVS,
                [&eperm[..], &header, &[6, 0, 2, 0, 9, 9, 0, 0]].concat(),
            ),
        ];
        for (flags, payload) in cases {
            let ack = parse_error(flags, &payload).unwrap();
            assert_eq!(ack.errno, libc::EPERM, "{payload:?}");
            assert_eq!(ack.ext.offset, None, "{payload:?}");
        }

        // What comes before a malformed attribute is kept.
        let mut payload = [&eperm[..], &header].concat();
        payload.extend_from_slice(&[9, 0, 1, 0, b'n', b'o', b'p', b'e', 0, 0, 0, 0]);
        payload.extend_from_slice(&[8, 0, 2, 0, 16, 0, 0, 0]);
        payload.extend_from_slice(&[99, 0, 5, 0, 1]);
        let ack = parse_error(NLM_F_CAPPED | NLM_F_ACK_TLVS, &payload).unwrap();
        assert_eq!(ack.errno, libc::EPERM);
        assert_eq!(ack.ext.message.as_deref(), Some("nope"));
        assert_eq!(ack.ext.offset, Some(16));
        assert_eq!(ack.ext.missing_type, None);
    }

    #[test]
    fn alignment_does_not_overflow() {
        assert_eq!(align4(5), Some(8));
        assert_eq!(align4(8), Some(8));
        assert_eq!(align4(usize::MAX), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(flags: u16, bytes: Vec<u8>) {
            let _ = parse_error(flags, &bytes);
            let _ = parse_done(flags, &bytes);
        }

        #[test]
        fn any_payload_with_an_error_code_keeps_it(code in 1i32..4096, flags: u16, rest: Vec<u8>) {
            let mut payload = (-code).to_ne_bytes().to_vec();
            payload.extend_from_slice(&rest);
            proptest::prop_assert_eq!(parse_error(flags, &payload).unwrap().errno, code);
        }

        #[test]
        fn errno_is_never_negative(code: i32) {
            let mut payload = code.to_ne_bytes().to_vec();
            payload.extend_from_slice(&[16, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
            let ack = parse_error(NLM_F_CAPPED, &payload).unwrap();
            proptest::prop_assert!(ack.errno >= 0);
        }
    }
}
