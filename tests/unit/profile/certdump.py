#!/usr/bin/env python3
"""Independent reader for the certificates and CSRs test_tbs writes.

Usage: certdump.py FILE...   (DER or PEM; a CSR when the PEM label says so)
Prints one JSON array, one object per file.  The raw structure (field
order, string and time tags, serial octets, extension order and
criticality) comes from a small DER walker here; the meaning of the
extensions comes from python3-cryptography.  Nothing is taken from the
code under test.
"""
import hashlib
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID


def tlv(b, i):
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def kids(b, s, e):
    out = []
    while s < e:
        t, cs, ce = tlv(b, s)
        out.append((t, cs, ce, s))
        s = ce
    if s != e:
        raise ValueError("children overrun their parent")
    return out


def oid_str(b):
    arcs, v = [], 0
    for x in b:
        v = (v << 7) | (x & 0x7F)
        if not x & 0x80:
            arcs.append(v)
            v = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


def name_list(b, s, e):
    rdns = []
    for (_, cs, ce, _) in kids(b, s, e):
        rdn = []
        for (_, cs2, ce2, _) in kids(b, cs, ce):
            (_, os_, oe, _), (vt, vs, ve, _) = kids(b, cs2, ce2)
            rdn.append([oid_str(b[os_:oe]), vt,
                        b[vs:ve].decode("utf-8", "replace")])
        rdns.append(rdn)
    return rdns


def raw_exts(b, s, e):
    out = []
    (_, ss, se, _), = kids(b, s, e)
    for (_, cs, ce, _) in kids(b, ss, se):
        parts = kids(b, cs, ce)
        crit = False
        if len(parts) == 3:
            crit = b[parts[1][1]] == 0xFF
        vt, vs, ve, _ = parts[-1]
        out.append({"oid": oid_str(b[parts[0][1]:parts[0][2]]),
                    "critical": crit, "value": b[vs:ve].hex()})
    return out


def gn(g):
    if isinstance(g, x509.DNSName):
        return ["dns", g.value]
    if isinstance(g, x509.RFC822Name):
        return ["email", g.value]
    if isinstance(g, x509.UniformResourceIdentifier):
        return ["uri", g.value]
    if isinstance(g, x509.IPAddress):
        return ["ip", str(g.value)]
    if isinstance(g, x509.RegisteredID):
        return ["rid", g.value.dotted_string]
    if isinstance(g, x509.DirectoryName):
        return ["dir", g.value.rfc4514_string()]
    if isinstance(g, x509.OtherName):
        return ["other", g.type_id.dotted_string, g.value.hex()]
    return ["?", repr(g)]


KU_FIELDS = ["digital_signature", "content_commitment", "key_encipherment",
             "data_encipherment", "key_agreement", "key_cert_sign",
             "crl_sign"]


def decode(ext):
    v = ext.value
    if ext.oid == ExtensionOID.BASIC_CONSTRAINTS:
        return {"ca": v.ca, "pathlen": v.path_length}
    if ext.oid == ExtensionOID.KEY_USAGE:
        bits = [f for f in KU_FIELDS if getattr(v, f)]
        if v.key_agreement:
            bits += [f for f in ("encipher_only", "decipher_only")
                     if getattr(v, f)]
        return bits
    if ext.oid == ExtensionOID.EXTENDED_KEY_USAGE:
        return [o.dotted_string for o in v]
    if ext.oid == ExtensionOID.SUBJECT_KEY_IDENTIFIER:
        return v.digest.hex()
    if ext.oid == ExtensionOID.AUTHORITY_KEY_IDENTIFIER:
        return {"keyid": v.key_identifier.hex() if v.key_identifier
                else None, "issuer": v.authority_cert_issuer is not None}
    if ext.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
        return [gn(g) for g in v]
    if ext.oid == ExtensionOID.CRL_DISTRIBUTION_POINTS:
        return [[gn(g) for g in (dp.full_name or [])] for dp in v]
    if ext.oid in (ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
                   ExtensionOID.SUBJECT_INFORMATION_ACCESS):
        return [[d.access_method.dotted_string, gn(d.access_location)]
                for d in v]
    if ext.oid == ExtensionOID.CERTIFICATE_POLICIES:
        return [[p.policy_identifier.dotted_string,
                 [q for q in (p.policy_qualifiers or [])]] for p in v]
    return None


def decoded(exts):
    out = {}
    for ext in exts:
        out[ext.oid.dotted_string] = decode(ext)
    return out


def spki_keyid(spki):
    _, s, e = tlv(spki, 0)
    parts = kids(spki, s, e)
    _, bs, be, _ = parts[1]
    return hashlib.sha1(spki[bs + 1:be]).hexdigest()


def cert_info(der):
    c = x509.load_der_x509_certificate(der)
    t = c.tbs_certificate_bytes
    _, s, e = tlv(t, 0)
    f = kids(t, s, e)
    whole = lambda k: t[k[3]:k[2]]
    val = kids(t, f[4][1], f[4][2])
    spki = whole(f[6])
    info = {
        "kind": "cert",
        "version": c.version.value,
        "version_field": whole(f[0]).hex(),
        "serial_raw": t[f[1][1]:f[1][2]].hex(),
        "serial": format(c.serial_number, "x"),
        "tbs_sigalg": whole(f[2]).hex(),
        "sigalg": c.signature_algorithm_oid.dotted_string,
        "issuer_der": whole(f[3]).hex(),
        "subject_der": whole(f[5]).hex(),
        "subject": name_list(t, f[5][1], f[5][2]),
        "nb_tag": val[0][0], "na_tag": val[1][0],
        "nb": int(c.not_valid_before_utc.timestamp()),
        "na": int(c.not_valid_after_utc.timestamp()),
        "spki_der": spki.hex(),
        "spki_keyid": spki_keyid(spki),
        "fields": len(f),
        "exts": raw_exts(t, f[7][1], f[7][2]) if len(f) > 7 else [],
    }
    outer = c.public_bytes(serialization.Encoding.DER)
    _, s, e = tlv(outer, 0)
    o = kids(outer, s, e)
    info["outer_sigalg"] = outer[o[1][3]:o[1][2]].hex()
    try:
        info["dec"] = decoded(c.extensions)
    except Exception as ex:  # e.g. EDIPartyName, which it cannot read
        info["dec_error"] = str(ex)
    return info


def csr_info(der):
    r = x509.load_der_x509_csr(der)
    t = r.tbs_certrequest_bytes
    _, s, e = tlv(t, 0)
    f = kids(t, s, e)
    info = {
        "kind": "csr",
        "signature_valid": r.is_signature_valid,
        "version_field": t[f[0][3]:f[0][2]].hex(),
        "subject": name_list(t, f[1][1], f[1][2]),
        "spki_der": t[f[2][3]:f[2][2]].hex(),
        "attributes_der": t[f[3][3]:f[3][2]].hex(),
        "sigalg": r.signature_algorithm_oid.dotted_string,
    }
    try:
        info["dec"] = decoded(r.extensions)
        info["exts_raw"] = [{"oid": x.oid.dotted_string,
                             "critical": x.critical} for x in r.extensions]
    except Exception as ex:
        info["dec_error"] = str(ex)
    return info


def main():
    out = []
    for path in sys.argv[1:]:
        data = open(path, "rb").read()
        try:
            if data.startswith(b"-----BEGIN CERTIFICATE REQUEST"):
                out.append(csr_info(x509.load_pem_x509_csr(data).public_bytes(
                    serialization.Encoding.DER)))
            elif data.startswith(b"-----BEGIN"):
                out.append(cert_info(x509.load_pem_x509_certificate(
                    data).public_bytes(serialization.Encoding.DER)))
            else:
                out.append(cert_info(data))
        except Exception as ex:
            out.append({"kind": "error", "error": repr(ex)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
