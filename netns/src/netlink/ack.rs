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
pub(crate) fn parse_error(flags: u16, payload: &[u8]) -> Result<Ack, String> {
    let errno = read_errno(payload)?;
    let echoed = &payload[4..];
    if echoed.len() < NLMSG_HDRLEN {
        return Err(format!(
            "NLMSG_ERROR echoes {} bytes of the request, less than its {NLMSG_HDRLEN}-byte header",
            echoed.len()
        ));
    }
    let echoed_len = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let len = u32::from_ne_bytes([echoed[0], echoed[1], echoed[2], echoed[3]]) as usize;
        align4(len.max(NLMSG_HDRLEN))
    };
    let ext = if flags & NLM_F_ACK_TLVS != 0 {
        let tlvs = echoed.get(echoed_len..).ok_or_else(|| {
            format!(
                "NLMSG_ERROR claims a {echoed_len}-byte echoed request but has {} bytes",
                echoed.len()
            )
        })?;
        parse_tlvs(tlvs)?
    } else {
        ExtAck::default()
    };
    Ok(Ack { errno, ext })
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
        parse_tlvs(&payload[4..])?
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

fn parse_tlvs(bytes: &[u8]) -> Result<ExtAck, String> {
    let mut ext = ExtAck::default();
    for nla in NlasIterator::new(bytes) {
        let nla = nla.map_err(|e| format!("bad extended-ack attribute: {e}"))?;
        let value = nla.value();
        match nla.kind() {
            NLMSGERR_ATTR_MSG => {
                let text = value.split(|&b| b == 0).next().unwrap_or_default();
                ext.message = Some(String::from_utf8_lossy(text).into_owned());
            }
            NLMSGERR_ATTR_OFFS => ext.offset = Some(read_u32(value, "NLMSGERR_ATTR_OFFS")?),
            NLMSGERR_ATTR_MISS_TYPE => {
                let kind = read_u32(value, "NLMSGERR_ATTR_MISS_TYPE")?;
                ext.missing_type = u16::try_from(kind).ok();
            }
            NLMSGERR_ATTR_MISS_NEST => {
                ext.missing_nest = Some(read_u32(value, "NLMSGERR_ATTR_MISS_NEST")?)
            }
            // Cookies and policies are for other netlink families.
            _ => {}
        }
    }
    Ok(ext)
}

fn read_u32(value: &[u8], name: &str) -> Result<u32, String> {
    match value {
        [a, b, c, d] => Ok(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => Err(format!("{name} has {} bytes, expected 4", value.len())),
    }
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALREADY_ASSIGNED: &[u8] = b"ipv4: Address already assigned\0\0";

    /// The request both captures below answer: RTM_NEWADDR for
    /// 192.0.2.1/24 on ifindex 3, flags REQUEST|ACK|EXCL|CREATE, seq 5.
    const NEWADDR_REQUEST: &[u8] = &[
        0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, // nlmsghdr
        0x02, 0x18, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, // ifaddrmsg
        0x08, 0x00, 0x02, 0x00, 0xc0, 0x00, 0x02, 0x01, // IFA_LOCAL
        0x08, 0x00, 0x01, 0x00, 0xc0, 0x00, 0x02, 0x01, // IFA_ADDRESS
    ];

    /// An `NLMSG_ERROR` payload (after its 16-byte header) as the kernel sent
    /// it to this client (NETLINK_CAP_ACK and NETLINK_EXT_ACK set; header
    /// flags NLM_F_CAPPED|NLM_F_ACK_TLVS) for an address the link already
    /// had, as captured with strace.
    fn captured_capped() -> Vec<u8> {
        let mut p = (-libc::EEXIST).to_ne_bytes().to_vec();
        p.extend_from_slice(&NEWADDR_REQUEST[..16]);
        p.extend_from_slice(&[0x23, 0x00, 0x01, 0x00]); // NLMSGERR_ATTR_MSG, 35 bytes
        p.extend_from_slice(ALREADY_ASSIGNED);
        p
    }

    /// The same error as `ip address add` receives it (NETLINK_EXT_ACK
    /// only; flags NLM_F_ACK_TLVS): the whole request is echoed before the
    /// attributes, as captured with strace.
    fn captured_uncapped() -> Vec<u8> {
        let mut p = (-libc::EEXIST).to_ne_bytes().to_vec();
        p.extend_from_slice(NEWADDR_REQUEST);
        p.extend_from_slice(&[0x23, 0x00, 0x01, 0x00]);
        p.extend_from_slice(ALREADY_ASSIGNED);
        p
    }

    #[test]
    fn duplicate_address_error_carries_kernel_text() {
        let capped = captured_capped();
        assert_eq!(capped.len() + 16, 72, "the captured message was 72 bytes");
        let uncapped = captured_uncapped();
        assert_eq!(uncapped.len() + 16, 96, "the captured message was 96 bytes");
        for (flags, payload) in [
            (NLM_F_CAPPED | NLM_F_ACK_TLVS, capped),
            (NLM_F_ACK_TLVS, uncapped),
        ] {
            let ack = parse_error(flags, &payload).unwrap();
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
    fn truncated_payloads_are_errors_not_panics() {
        assert!(parse_error(0, &[]).is_err());
        assert!(parse_error(0, &[0xea, 0xff, 0xff, 0xff, 1, 2]).is_err());
        let mut payload = (-1i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[200, 0, 0, 0, 0x10, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(parse_error(NLM_F_ACK_TLVS, &payload).is_err());
        assert!(parse_done(NLM_F_ACK_TLVS, &[1, 2]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(flags: u16, bytes: Vec<u8>) {
            let _ = parse_error(flags, &bytes);
            let _ = parse_done(flags, &bytes);
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
