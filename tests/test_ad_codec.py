"""AD value decoders against the SYNTHETIC vectors of shared/formats/ad-ldif.md §4–5."""

from __future__ import annotations

import base64
import contextlib
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nhiplan.core.importers import ad_codec as c

SID_1105 = "S-1-5-21-1111111111-2222222222-3333333333-1105"
SID_1107 = "S-1-5-21-1111111111-2222222222-3333333333-1107"
RBCD_SD = base64.b64decode(
    "AQAEgBQAAAAAAAAAAAAAACQAAAABAgAAAAAABSAAAAAgAgAAAgAsAAEAAAAAACQA/wEPAAEFAAAAAAAFFQAAAMc1OkKOa3SEVaGuxlMEAAA="
)


@pytest.mark.parametrize(
    ("value", "flags"),
    [
        (512, ["NORMAL_ACCOUNT"]),
        (514, ["ACCOUNTDISABLE", "NORMAL_ACCOUNT"]),
        (66048, ["NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWD"]),
        (66050, ["ACCOUNTDISABLE", "NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWD"]),
        (590336, ["NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWD", "TRUSTED_FOR_DELEGATION"]),
        (16843264, ["NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWD", "TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        (4194816, ["NORMAL_ACCOUNT", "DONT_REQ_PREAUTH"]),
        (4096, ["WORKSTATION_TRUST_ACCOUNT"]),
        (16781312, ["WORKSTATION_TRUST_ACCOUNT", "TRUSTED_TO_AUTH_FOR_DELEGATION"]),
        (532480, ["SERVER_TRUST_ACCOUNT", "TRUSTED_FOR_DELEGATION"]),
        ("546", ["ACCOUNTDISABLE", "PASSWD_NOTREQD", "NORMAL_ACCOUNT"]),
    ],
)
def test_uac_vectors(value, flags):
    assert c.decode_uac(value) == flags


def test_uac_unknown_bits_and_signed_values():
    assert c.decode_uac(0x200 | 0x4000) == ["NORMAL_ACCOUNT", "UNKNOWN_0x4000"]
    # AD hands userAccountControl back as a signed 32-bit integer.
    assert c.decode_uac(-2147483136) == ["NORMAL_ACCOUNT", "UNKNOWN_0x80000000"]
    with pytest.raises(ValueError, match="userAccountControl is not an integer"):
        c.decode_uac("lots")


def test_every_documented_flag_has_its_bit():
    assert c.UAC_FLAGS["TRUSTED_FOR_DELEGATION"] == 0x80000
    assert c.UAC_FLAGS["TRUSTED_TO_AUTH_FOR_DELEGATION"] == 0x1000000
    assert c.UAC_FLAGS["DONT_REQ_PREAUTH"] == 0x400000
    assert c.UAC_FLAGS["PASSWD_NOTREQD"] == 0x20
    assert c.UAC_FLAGS["DONT_EXPIRE_PASSWD"] == 0x10000
    assert c.UAC_FLAGS["PARTIAL_SECRETS_ACCOUNT"] == 0x4000000
    assert len(set(c.UAC_FLAGS.values())) == len(c.UAC_FLAGS)


def test_encryption_types():
    assert c.decode_encryption_types(28) == ["RC4", "AES128", "AES256"]
    assert c.decode_encryption_types("24") == ["AES128", "AES256"]
    assert c.decode_encryption_types(3) == ["DES_CBC_CRC", "DES_CBC_MD5"]
    assert c.is_rc4_only(c.decode_encryption_types(4))
    assert not c.is_rc4_only(c.decode_encryption_types(28))
    assert not c.is_rc4_only(c.decode_encryption_types(24))


def test_group_type():
    assert c.decode_group_type(-2147483646) == ["GLOBAL", "SECURITY"]
    assert c.decode_group_type(-2147483643) == ["BUILTIN_LOCAL", "DOMAIN_LOCAL", "SECURITY"]
    assert c.decode_group_type(8) == ["UNIVERSAL", "DISTRIBUTION"]


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        (131961672000000000, datetime(2019, 3, 4, 10, 0, 0, tzinfo=UTC)),
        (133486382450000000, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("132694880879752841", datetime(2021, 6, 30, 0, 54, 47, 975284, tzinfo=UTC)),
    ],
)
def test_filetime_vectors(ticks, expected):
    moment = c.filetime_to_datetime(ticks)
    assert moment == expected
    assert moment.tzinfo is not None


@pytest.mark.parametrize(
    "ticks", [0, -1, 9223372036854775807, "9223372036854775807", 1, 10_000_000 * 86400 * 300]
)
def test_filetime_sentinels_are_none(ticks):
    # 0, the maximum, and anything still in 1601 mean "never"/"not set"; never year 1601 or 30828.
    assert c.filetime_to_datetime(ticks) is None


def test_filetime_past_year_9999_is_none():
    assert c.filetime_to_datetime(c.datetime_to_filetime(datetime(9999, 12, 31, tzinfo=UTC)) + 10**15) is None


def test_filetime_round_trip():
    moment = datetime(2026, 10, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert c.filetime_to_datetime(c.datetime_to_filetime(moment)) == moment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20210419004958.0Z", datetime(2021, 4, 19, 0, 49, 58, tzinfo=UTC)),
        ("20210419004958Z", datetime(2021, 4, 19, 0, 49, 58, tzinfo=UTC)),
        ("20210419004958.25Z", datetime(2021, 4, 19, 0, 49, 58, 250000, tzinfo=UTC)),
        ("20210419004958.5+0200", datetime(2021, 4, 18, 22, 49, 58, 500000, tzinfo=UTC)),
        ("20210419004958-0130", datetime(2021, 4, 19, 2, 19, 58, tzinfo=UTC)),
        ("202104190049Z", datetime(2021, 4, 19, 0, 49, tzinfo=UTC)),
        ("2021041900.5Z", datetime(2021, 4, 19, 0, 30, tzinfo=UTC)),
    ],
)
def test_generalized_time(text, expected):
    assert c.generalized_time_to_datetime(text) == expected


def test_generalized_time_sentinel_and_garbage():
    assert c.generalized_time_to_datetime("16010101000000.0Z") is None
    with pytest.raises(ValueError, match="not a GeneralizedTime"):
        c.generalized_time_to_datetime("yesterday")
    with pytest.raises(ValueError, match="not a valid GeneralizedTime"):
        c.generalized_time_to_datetime("20211341000000.0Z")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("131961672000000000", datetime(2019, 3, 4, 10, tzinfo=UTC)),
        ("20190304100000.0Z", datetime(2019, 3, 4, 10, tzinfo=UTC)),
        ("2019-03-04 10:00:00+00:00", datetime(2019, 3, 4, 10, tzinfo=UTC)),
        ("2021-06-30 00:54:47.975284+00:00", datetime(2021, 6, 30, 0, 54, 47, 975284, tzinfo=UTC)),
        ("1601-01-01 00:00:00+00:00", None),
        ("9999-12-31 23:59:59.999999+00:00", None),
        ("0", None),
        ("", None),
        (datetime(2020, 1, 1, 12), datetime(2020, 1, 1, 12, tzinfo=UTC)),
    ],
)
def test_parse_ad_timestamp_accepts_every_export_form(value, expected):
    assert c.parse_ad_timestamp(value) == expected


def test_parse_ad_timestamp_rejects_culture_dates():
    with pytest.raises(ValueError, match="not an AD time value"):
        c.parse_ad_timestamp("30.06.2021 00:54:47")


def test_sid_vectors():
    assert c.sid_from_bytes(base64.b64decode("AQUAAAAAAAUVAAAAxzU6Qo5rdIRVoa7GUQQAAA==")) == SID_1105
    assert c.sid_from_bytes(base64.b64decode("AQQAAAAAAAUVAAAAxzU6Qo5rdIRVoa7G")) == (
        "S-1-5-21-1111111111-2222222222-3333333333"
    )
    assert c.sid_from_bytes(base64.b64decode("AQIAAAAAAAUgAAAAIAIAAA==")) == "S-1-5-32-544"
    assert c.sid_to_bytes(SID_1105).hex() == "010500000000000515000000c7353a428e6b748455a1aec651040000"


def test_sid_errors():
    with pytest.raises(ValueError, match="truncated"):
        c.sid_from_bytes(bytes.fromhex("0105000000000005150000"))
    with pytest.raises(ValueError, match="revision 2"):
        c.sid_from_bytes(bytes.fromhex("0201000000000005") + b"\0" * 4)
    with pytest.raises(ValueError, match="trailing"):
        c.sid_from_bytes(c.sid_to_bytes("S-1-5-18") + b"\0")
    with pytest.raises(ValueError, match="not a SID"):
        c.sid_to_bytes("X-1-5")


def test_sid_large_authority_is_hex():
    data = bytes([1, 1]) + (2**40).to_bytes(6, "big") + struct.pack("<I", 7)
    assert c.sid_from_bytes(data) == "S-1-0x010000000000-7"
    assert c.sid_to_bytes("S-1-0x010000000000-7") == data


@given(st.integers(0, 2**48 - 1), st.lists(st.integers(0, 2**32 - 1), max_size=15))
def test_sid_round_trip(authority, subs):
    data = bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)
    assert c.sid_to_bytes(c.sid_from_bytes(data)) == data


def test_guid_is_mixed_endian():
    wire = base64.b64decode("PSwbCl9OcWCCk6S1xtfo+Q==")
    assert wire.hex() == "3d2c1b0a5f4e71608293a4b5c6d7e8f9"
    assert c.guid_from_bytes(wire) == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    assert (
        base64.b64encode(c.guid_to_bytes("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}"))
        == b"PSwbCl9OcWCCk6S1xtfo+Q=="
    )
    assert (
        c.normalise_guid_text("{0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9}")
        == "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    )
    with pytest.raises(ValueError, match="16 bytes"):
        c.guid_from_bytes(wire[:15])


def test_rbcd_security_descriptor_vector():
    assert len(RBCD_SD) == 80
    descriptor = c.parse_security_descriptor(RBCD_SD)
    assert descriptor.control == 0x8004
    assert descriptor.owner == "S-1-5-32-544"
    assert descriptor.group is None
    assert [(a.type, a.mask, a.sid) for a in descriptor.dacl] == [("ACCESS_ALLOWED", 0x000F01FF, SID_1107)]
    assert c.allowed_sids(RBCD_SD) == [SID_1107]
    # The builder writes exactly what AD writes, so the demo estate carries real blobs.
    assert c.build_security_descriptor("S-1-5-32-544", [SID_1107]) == RBCD_SD


def test_builder_refuses_an_acl_past_its_16_bit_size():
    with pytest.raises(ValueError, match="an ACL holds at most 65535"):
        c.build_security_descriptor("S-1-5-32-544", [SID_1105] * 1900)


def _sd_with_aces(aces: bytes, count: int) -> bytes:
    owner = c.sid_to_bytes("S-1-5-32-544")
    acl = struct.pack("<BBHHH", 4, 0, 8 + len(aces), count, 0) + aces
    header = struct.pack("<BBHIIII", 1, 0, 0x8004, 20, 0, 0, 20 + len(owner))
    return header + owner + acl


def test_object_aces_denies_and_inherit_only():
    reader = c.sid_to_bytes(SID_1105)
    other = c.sid_to_bytes(SID_1107)
    guid = c.guid_to_bytes("00299570-246d-11d0-a768-00aa006e0529")
    object_ace_body = struct.pack("<II", 0x100, 0x1) + guid + reader
    object_ace = struct.pack("<BBH", 0x05, 0, 4 + len(object_ace_body)) + object_ace_body
    deny = struct.pack("<BBHI", 0x01, 0, 8 + len(other), 0xF01FF) + other
    inherit_only = struct.pack("<BBHI", 0x00, 0x08, 8 + len(other), 0xF01FF) + other
    descriptor = _sd_with_aces(object_ace + deny + inherit_only, 3)
    parsed = c.parse_security_descriptor(descriptor)
    assert [a.type for a in parsed.dacl] == ["ACCESS_ALLOWED_OBJECT", "ACCESS_DENIED", "ACCESS_ALLOWED"]
    assert parsed.dacl[0].object_type == "00299570-246d-11d0-a768-00aa006e0529"
    assert c.allowed_sids(descriptor) == [SID_1105]


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (RBCD_SD[:10], "header alone is 20"),
        (b"\x02" + RBCD_SD[1:], "revision 2"),
        (RBCD_SD[:2] + b"\x04\x00" + RBCD_SD[4:], "not self-relative"),
        (RBCD_SD[:60], "DACL at offset 36 claims 44 bytes"),
        (RBCD_SD[:40], "DACL at offset 36 truncated"),
        (RBCD_SD[:36] + b"\x02\x00\x2c\x00\x02\x00\x00\x00" + RBCD_SD[44:], "ACE 1 at offset 80 truncated"),
        (RBCD_SD[:46] + b"\x40\x00" + RBCD_SD[48:], "ACE 0 at offset 44 claims 64 bytes"),
        (RBCD_SD[:52] + b"\x01\x10" + RBCD_SD[54:], "claims 16 sub-authorities"),
        (RBCD_SD[:52] + b"\x01\x06" + RBCD_SD[54:], "ACE 0 at offset 44: SID at offset 52 truncated"),
        (b"\xff" * 80, "revision 255"),
    ],
)
def test_garbage_security_descriptors_raise_with_a_reason(blob, reason):
    with pytest.raises(ValueError, match=reason):
        c.allowed_sids(blob)


@given(st.binary(max_size=200))
def test_security_descriptor_parser_never_crashes_on_garbage(blob):
    # Either a result or a ValueError with a reason; never IndexError, struct.error or a hang.
    with contextlib.suppress(ValueError):
        c.allowed_sids(blob)


@given(st.integers(0, 79))
def test_every_truncation_of_the_rbcd_vector_is_a_value_error(cut):
    with pytest.raises(ValueError):
        c.allowed_sids(RBCD_SD[:cut])
