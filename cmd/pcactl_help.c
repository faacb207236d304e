/*
 * pcactl_help.c - the text of "pcactl --help", "pcactl CMD --help" and
 * "pcactl CMD SUB --help": one entry per command and subcommand, with its
 * options.  A command without a subcommand shows every entry of it.
 */
#include <stdio.h>
#include <string.h>

#include "pcactl.h"
#include "version.h"

struct help {
	const char *cmd, *sub; /* sub NULL: a command without subcommands */
	const char *text;
};

#define GLOBAL_OPTS                                                            \
	"Global options (before or after the command):\n"                      \
	"  --config FILE     the appliance's pcad.conf (default: "             \
	"$PCACTL_CONFIG,\n"                                                    \
	"                    then var/appliance/pcad.conf)\n"                  \
	"  --json            one JSON document on stdout instead of text; "    \
	"files\n"                                                              \
	"                    named by --out/--chain-out are written as well\n" \
	"  -h, --help        this help\n"

static const struct help helps[] = {
    {"init", NULL,
	"usage: pcactl init DIR [--api-port N] [--http-port N] "
	"[--s3-endpoint URL]\n"
	"                       [--region R] [--account-id ID] "
	"[--public-url URL]\n"
	"                       [--api-name HOST[,HOST...]]\n"
	"                       [--pkcs11-module PATH|NAME --token-label "
	"L|URI\n"
	"                        (--pin-file F | --pin-env VAR) "
	"[--module-env NAME=VALUE]]\n"
	"                       [--key-storage-standard STD]\n"
	"Lays out a ready appliance in DIR: pcad.conf, a SoftHSM2 token "
	"with random\nPINs, the API's TLS material, an admin access key "
	"(DIR/credentials) and\nan AWS CLI/SDK config (DIR/aws-config).\n"
	"  --api-port N        HTTPS port of the ACM-PCA API (8443)\n"
	"  --http-port N       plain-HTTP port: OCSP, CRLs, /health, "
	"/metrics (8080)\n"
	"  --s3-endpoint URL   publish CRLs and audit reports to this S3 "
	"endpoint\n"
	"                      (credentials from AWS_ACCESS_KEY_ID/"
	"AWS_SECRET_ACCESS_KEY)\n"
	"  --region R          the region of ARNs (us-east-1)\n"
	"  --account-id ID     the 12-digit account of ARNs "
	"(123456789012)\n"
	"  --public-url URL    base of the CDP, OCSP and caIssuers URLs in "
	"certificates\n"
	"                      (http://127.0.0.1:HTTP-PORT: only right for "
	"tests)\n"
	"  --api-name HOST,... names of the API's TLS certificate; the "
	"first is the\n"
	"                      endpoint in DIR/aws-config\n"
	"  --pkcs11-module M   adopt a token of this PKCS#11 module (path "
	"or p11-kit\n"
	"                      name) instead of making a SoftHSM2 token\n"
	"  --token-label L     the adopted token's label or pkcs11: URI "
	"(RFC 7512)\n"
	"  --pin-file F        file holding its user PIN (mode 0600 or "
	"stricter)\n"
	"  --pin-env VAR       environment variable holding its user PIN\n"
	"  --module-env N=V    set in the environment before the module "
	"loads\n"
	"  --key-storage-standard STD  the token's certification as you "
	"state it\n"
	"                      (FIPS_140_2_LEVEL_3_OR_HIGHER, "
	"FIPS_140_2_LEVEL_2_OR_HIGHER,\n"
	"                      CCPC_LEVEL_1_OR_HIGHER); never for "
	"SoftHSM\n"},
    {"ca", "create",
	"usage: pcactl ca create --type ROOT|SUBORDINATE --key-alg ALG "
	"--signing-alg ALG\n"
	"                        (--subject DN | --config-json FILE)\n"
	"                        [--revocation crl,ocsp|crl|ocsp|none "
	"[--crl-bucket B] |\n"
	"                         --revocation-json FILE]\n"
	"                        [--usage-mode M] [--idempotency-token T]\n"
	"Creates a CA whose key is generated in the token; prints its "
	"ARN.\n"
	"By default its certificates carry a CRL distribution point and "
	"AIA OCSP and\ncaIssuers URLs under the appliance's public URL, "
	"all served by pcad (the\nCRL is local: no S3 bucket). "
	"(The API keeps AWS's rule: no\nRevocationConfiguration, no "
	"revocation.)\n"
	"  --type T               ROOT or SUBORDINATE\n"
	"  --key-alg ALG          RSA_2048 RSA_3072 RSA_4096 EC_prime256v1 "
	"EC_secp384r1\n"
	"                         EC_secp521r1\n"
	"  --signing-alg ALG      SHA256WITHRSA SHA384WITHRSA SHA512WITHRSA "
	"SHA256WITHECDSA\n"
	"                         SHA384WITHECDSA SHA512WITHECDSA\n"
	"  --subject DN           'CN=name,O=org,C=US': attributes C ST L "
	"O OU CN\n"
	"                         dnQualifier title SN GN initials "
	"pseudonym\n"
	"                         generationQualifier serialNumber or a "
	"dotted OID;\n"
	"                         '\\,' escapes a comma; a repeated "
	"attribute keeps\n"
	"                         the order given\n"
	"  --config-json FILE     a CertificateAuthorityConfiguration "
	"JSON object\n"
	"  --revocation R         crl,ocsp (the default), crl, ocsp or "
	"none: what pcad\n"
	"                         serves for the CA; asked for but not "
	"configured ([ocsp]\n"
	"                         url, [crl] url_base) is an error, by "
	"default a note\n"
	"  --crl-bucket B         also publish the CRL to S3 bucket B "
	"(needed when the\n"
	"                         appliance has an [s3] endpoint)\n"
	"  --revocation-json FILE a RevocationConfiguration JSON object, "
	"as the API takes\n"
	"                         it (instead of --revocation)\n"
	"  --usage-mode M         GENERAL_PURPOSE or "
	"SHORT_LIVED_CERTIFICATE\n"
	"  --idempotency-token T  a retry with the same token returns the "
	"same CA\n"},
    {"ca", "list",
	"usage: pcactl ca list\n"
	"Every CA: ARN, type, status, key algorithm, notAfter.\n"},
    {"ca", "show",
	"usage: pcactl ca show CA\n"
	"The CA as DescribeCertificateAuthority returns it, plus its "
	"token key's\nattributes. CA is an ARN or the bare CA id.\n"},
    {"ca", "csr",
	"usage: pcactl ca csr CA [--out FILE]\n"
	"The CA's CSR (PEM) on stdout, or in FILE.\n"
	"  --out FILE   write the PEM to FILE\n"},
    {"ca", "import",
	"usage: pcactl ca import CA --cert FILE [--chain FILE]\n"
	"Installs the CA certificate (and the chain above it): the CA "
	"becomes ACTIVE.\n"
	"  --cert FILE    the CA certificate (PEM)\n"
	"  --chain FILE   the chain up to the root (PEM); not for a root\n"},
    {"ca", "enable",
	"usage: pcactl ca enable CA\nSets a DISABLED CA ACTIVE.\n"},
    {"ca", "disable",
	"usage: pcactl ca disable CA\nSets an ACTIVE CA DISABLED.\n"},
    {"ca", "delete",
	"usage: pcactl ca delete CA [--days N]\n"
	"Deletes the CA; it can be restored for N days.\n"
	"  --days N   restore window, 7 to 30 (30)\n"},
    {"ca", "restore",
	"usage: pcactl ca restore CA\n"
	"Restores a deleted CA within its restore window.\n"},
    {"ca", "rotate",
	"usage: pcactl ca rotate CA [--validity-days N] "
	"[--idempotency-token T]\n"
	"       pcactl ca rotate --due\n"
	"Makes the CA's successor with a new key in the token (same "
	"subject and\nsettings), signed by its parent here or, for a root, "
	"by itself with link\ncertificates; the old CA stops issuing and "
	"keeps CRLs and OCSP until its\nlast certificate expires "
	"(docs/rotation.md).  --due: the scheduled pass.\n"
	"  --validity-days N       the successor certificate's validity\n"
	"  --idempotency-token T   a retry returns the same successor\n"},
    {"ca", "schedule",
	"usage: pcactl ca schedule CA --rotate-before-days N|default\n"
	"Rotates the CA automatically N days before its certificate "
	"expires\n(default: [ca] rotate_before_days).\n"},
    {"issue", NULL,
	"usage: pcactl issue --ca CA --csr FILE --signing-alg ALG "
	"--validity V\n"
	"                    [--template T] [--not-before UNIX] "
	"[--api-passthrough FILE]\n"
	"                    [--out FILE] [--chain-out FILE] "
	"[--idempotency-token T]\n"
	"Issues a certificate. Without --out the PEM goes to stdout; with "
	"it, the\ncertificate ARN does. Output files are checked before "
	"anything is issued.\n"
	"  --ca CA                 the issuing CA (ARN or id)\n"
	"  --csr FILE              the PKCS#10 request, PEM or DER ('-': "
	"stdin)\n"
	"  --signing-alg ALG       SHA256WITHRSA ... SHA512WITHECDSA "
	"(fitting the CA key)\n"
	"  --validity V            Nd, Nm, Ny, end:YYYYMMDDHHMMSS or "
	"abs:UNIXTIME\n"
	"  --template T            ACM-PCA template name or ARN "
	"(EndEntityCertificate/V1);\n"
	"                          a name without /Vn means /V1\n"
	"  --not-before UNIX       notBefore (epoch seconds)\n"
	"  --api-passthrough FILE  an ACM-PCA ApiPassthrough JSON object\n"
	"  --out FILE              write the certificate (PEM) to FILE\n"
	"  --chain-out FILE        write the CA chain (PEM) to FILE\n"
	"  --idempotency-token T   a retry with the same token returns the "
	"same certificate\n"},
    {"revoke", NULL,
	"usage: pcactl revoke --ca CA --serial HEX --reason REASON\n"
	"Revokes a certificate of CA.\n"
	"  --ca CA          the issuing CA (ARN or id)\n"
	"  --serial HEX     the serial, hex (colons allowed)\n"
	"  --reason REASON  UNSPECIFIED KEY_COMPROMISE "
	"CERTIFICATE_AUTHORITY_COMPROMISE\n"
	"                   AFFILIATION_CHANGED SUPERSEDED "
	"CESSATION_OF_OPERATION\n"
	"                   PRIVILEGE_WITHDRAWN A_A_COMPROMISE\n"},
    {"cert", "list",
	"usage: pcactl cert list [--ca CA] [--status S] [--expiring-days N]"
	"\n                        [--expiring-before UNIX] [--subject TEXT]"
	" [--template T]\n"
	"Certificates in the store: CA, serial, status, notAfter, "
	"template, subject, ARN.\n"
	"  --ca CA              one CA (ARN or id)\n"
	"  --status S           ISSUED REVOKED EXPIRED PENDING\n"
	"  --expiring-days N    live certificates expiring within N days\n"
	"  --expiring-before T  notAfter before T (epoch seconds)\n"
	"  --subject TEXT       TEXT in the subject or a SAN (any case)\n"
	"  --template T         template name or ARN; a name without /Vn "
	"means /V1\n"},
    {"cert", "show",
	"usage: pcactl cert show CERT_ARN | SERIAL [--ca CA] [--pem] "
	"[--out FILE]\n"
	"                        [--chain-out FILE]\n"
	"One certificate: subject, issuer, validity, status, template, "
	"key, SANs,\nfingerprint. SERIAL (hex) is looked up in every CA "
	"unless --ca is given.\n"
	"  --ca CA           the issuing CA (ARN or id)\n"
	"  --pem             print the PEM instead of the summary\n"
	"  --out FILE        write the certificate (PEM) to FILE\n"
	"  --chain-out FILE  write the CA chain (PEM) to FILE\n"},
    {"cert", "renew-early",
	"usage: pcactl cert renew-early --ca CA [--serial S]\n"
	"Moves the ACME renewal window (RFC 9773 renewalInfo) of the "
	"certificate\nS, or of every certificate of CA issued before now, "
	"into the past, so\nACME clients renew at once.\n"},
    {"cert", "import",
	"usage: pcactl cert import FILE|DIR\n"
	"Records certificates we did not issue (PEM, several blocks "
	"allowed, or one\nDER certificate per file; every regular file of "
	"DIR) as external, seen\nat the file's name; ours are matched to "
	"their records.  See also\n"
	"pcactl cert list --external [--status ISSUED|EXPIRED] "
	"[--subject TEXT]\n[--expiring-days N]: external certificates, "
	"where and when seen, findings.\n"},
    {"alerts", "list",
	"usage: pcactl alerts list\n"
	"The anomaly alerts pcad raised ([alerts] enabled): id, kind "
	"(issuance_rate,\nfirst_template_use, ca_template_issuance), "
	"open or acked.\n"},
    {"alerts", "ack",
	"usage: pcactl alerts ack ID\n"
	"Marks alert ID acknowledged.\n"},
    {"discover", NULL,
	"usage: pcactl discover [--targets FILE | HOST:PORT ...] "
	"[--cidr A.B.C.D/N\n"
	"                       --ports P,...] [--sni NAME] "
	"[--starttls smtp|imap|postgres]\n"
	"                       [--concurrency N] [--timeout-ms MS] "
	"[--rate N] [--import]\n"
	"Connects to exactly the endpoints given (nothing else), takes the "
	"chain each\npresents and prints what answered; with --import "
	"records the certificates\n(external ones, and where ours were "
	"seen).\n"
	"  --targets FILE    HOST:PORT lines (# comments)\n"
	"  --cidr, --ports   every IPv4 address of the range (/16 to /32) "
	"on each port\n"
	"  --sni NAME        server name sent to every endpoint\n"
	"  --starttls P      upgrade an SMTP, IMAP or PostgreSQL "
	"connection first\n"
	"  --concurrency N   endpoints at once (8); --timeout-ms MS per "
	"phase (5000);\n"
	"  --rate N          new connections per second at most (20)\n"},
    {"acme", "eab",
	"usage: pcactl acme eab create --ca CA [--policy NAME] "
	"[--names SUFFIX,...]\n                             "
	"[--profiles P,...]\n"
	"An ACME external account binding key for CA (RFC 8555 7.3.4): "
	"prints its\nkid and base64url HMAC key (stored sealed by the "
	"token). It binds one\naccount, which may then order only names "
	"equal to or below a SUFFIX, is\njudged by issuance policy NAME "
	"and may name the profiles (the first is its\ndefault).\n"},
    {"acme", "profile",
	"usage: pcactl acme profile set --ca CA --name N --policy P "
	"[--template ARN]\n                               "
	"[--validity-days D] [--description TEXT]\n"
	"       pcactl acme profile list --ca CA\n"
	"       pcactl acme profile delete --ca CA --name N\n"
	"The ACME profiles of CA (draft-ietf-acme-profiles), listed in its "
	"directory:\nan issuance policy, a template and a validity each.\n"},
    {"acme", "cert",
	"usage: pcactl acme cert --serial S\n"
	"The ACME record of certificate S: account, order, profile, the "
	"certificate\nit replaces and the one that replaced it (RFC "
	"9773).\n"},
    {"acme", "prune",
	"usage: pcactl acme prune [--keep-days N]\n"
	"Deletes the ACME orders and authorizations that expired more "
	"than N days\nago (default [acme] keep_days), as pcad does "
	"hourly.\n"},
    {"store", "verify",
	"usage: pcactl store verify [--against-s3 s3://BUCKET/PREFIX]\n"
	"Walks every record, re-checks every signature and the audit hash "
	"chain;\nexits 1 when a problem is found.\n"
	"  --against-s3 URL  also compares the store with the change feed "
	"pcad shipped\n                    under URL ([backup] feed): "
	"certificates missing either side\n"},
    {"report", NULL,
	"usage: pcactl report\n"
	"The compliance report of every CA: weak keys, SHA-1, "
	"certificates outliving\ntheir policy, expiring within 30 days "
	"(delegated OCSP responder certificates\ncounted apart), CA "
	"certificates expiring within a year.\n"},
    {"key", "create",
	"usage: pcactl key create [--role admin|issuer|auditor | --policy "
	"FILE] [--ca ARN]...\n"
	"                         [--account ID]\n"
	"A new API access key, printed once as an AWS credentials "
	"profile.\n"
	"  --role R      managed policy: admin (default), issuer or "
	"auditor\n"
	"  --policy FILE a custom IAM identity policy (docs/iam.md)\n"
	"  --ca ARN      issuer/auditor: only this CA (repeatable)\n"
	"  --account ID  the key's 12-digit account (the appliance's)\n"},
    {"key", "list",
	"usage: pcactl key list\nEvery access key: id, policy, account, "
	"status (never a secret).\n"},
    {"key", "revoke",
	"usage: pcactl key revoke AKID\nRevokes an access key at once.\n"},
    {"key", "policy",
	"usage: pcactl key policy get AKID\n"
	"       pcactl key policy put AKID (--policy FILE | --role R "
	"[--ca ARN]...)\n"
	"       pcactl key policy simulate AKID --action OP [--resource "
	"ARN]\n"
	"                  [--template T] [--tag K=V]... [--source-ip IP]\n"
	"Reads or replaces a key's IAM policy (validated first), or asks "
	"what pcad\nwould decide, and which statement decided.\n"},
    {"approval", "list",
	"usage: pcactl approval list [--status PENDING|APPROVED|DENIED|"
	"EXPIRED|EXECUTED]\n"
	"Requests for operations that need approval ([approval] in "
	"pcad.conf),\noldest first.\n"},
    {"approval", "show",
	"usage: pcactl approval show ID\nOne request: operation, "
	"requester, body, approvals, status.\n"},
    {"approval", "approve",
	"usage: pcactl approval approve ID --as NAME\n"
	"Approves as operator:NAME (which must be among the approvers).\n"},
    {"approval", "deny",
	"usage: pcactl approval deny ID --as NAME [--reason TEXT]\n"
	"Denies as operator:NAME; the reason is kept and audited.\n"},
    {"backup", NULL,
	"usage: pcactl backup --to FILE|s3://BUCKET[/PREFIX] "
	"[--rate-mb N]\n"
	"       pcactl backup verify FILE|s3://BUCKET/KEY\n"
	"An online backup (a tar archive: manifest, the store copied in "
	"one read\ntransaction, pcad.conf, the policy file; no key, PIN "
	"or TLS key), or a\ncheck of one against its manifest "
	"(docs/backup.md).\n"
	"  --rate-mb N   write at most N MiB a second (0: no limit; "
	"default [backup]\n"
	"                rate_mb)\n"},
    {"restore", NULL,
	"usage: pcactl restore BACKUP DIR [--pin-file F] [--module-env "
	"NAME=VALUE]\n"
	"                      [--tls-cert F --tls-key F]\n"
	"                      [--s3-endpoint URL --s3-credentials F "
	"[--s3-region R]]\n"
	"                      [--replay-feed s3://BUCKET/PREFIX]\n"
	"A new appliance in DIR from BACKUP (a file or s3://BUCKET/KEY), "
	"against the\nsame or a restored token: refused when the token "
	"lacks the CA keys.\n"
	"  --pin-file F        the token's user PIN (the backup has none)\n"
	"  --module-env N=V    replaces [hsm] module_env (a moved "
	"SoftHSM token)\n"
	"  --tls-cert/--tls-key  the API's TLS files (else new ones are "
	"made)\n"
	"  --replay-feed URL   replays the change feed pcad shipped under "
	"URL after\n                      the backup (point-in-time "
	"recovery, docs/backup.md)\n"},
    {"tls", "renew",
	"usage: pcactl tls renew --if-due | --force\n"
	"A new API TLS certificate (new key, the same names) from the "
	"appliance's TLS\nCA, whose key is in the token; pcad serves it "
	"after SIGHUP.\n"
	"  --if-due   only once 2/3 of the current certificate's life has "
	"passed\n"
	"  --force    now\n"},
    {"token", "migrate",
	"usage: pcactl token migrate --pkcs11-module PATH|NAME "
	"--token-label L|URI\n"
	"                            (--pin-file F | --pin-env VAR) "
	"[--module-env NAME=VALUE]\n"
	"Re-seals every access-key secret under another token and "
	"rewrites [hsm] of\npcad.conf (the previous file is kept as "
	"pcad.conf.pre-migrate); CA keys stay\nin the old token "
	"(docs/hsm.md). Stop pcad first.\n"
	"  --pkcs11-module M   the new token's PKCS#11 module (path or "
	"p11-kit name)\n"
	"  --token-label L     its label or pkcs11: URI (RFC 7512)\n"
	"  --pin-file F        file holding its user PIN\n"
	"  --pin-env VAR       environment variable holding its user PIN\n"
	"  --module-env N=V    set before the module loads\n"},
    {"promote", NULL,
	"usage: pcactl promote [DIR] [--grace SECONDS]\n"
	"Makes the standby appliance in DIR (default: --config's) the "
	"primary: stops\nits standby pcad, takes the next fencing "
	"epoch in S3 (the old primary\nthen refuses to issue or start), "
	"waits --grace seconds (3) for a shipment\nunder way, applies the "
	"shipped feed to its end, raises CRL numbers above\nS3's; then "
	"start pcad on it (docs/standby.md).\n"},
    {"audit", "verify",
	"usage: pcactl audit verify REPORT MANIFEST [--offline]\n"
	"Checks an audit report against its signed manifest and, unless "
	"--offline,\nthat this appliance's audit log passes through the "
	"manifest's chain head.\n"
	"  --offline   do not open the appliance\n"},
    {"policy", "list",
	"usage: pcactl policy list\nThe issuance policies the "
	"configuration knows.\n"},
    {"policy", "check",
	"usage: pcactl policy check CSR --policy NAME [--days N] "
	"[--template T]\n"
	"                           [--signing-alg ALG]\n"
	"Explains, rule by rule, what policy NAME decides for CSR "
	"(offline).\n"
	"  --policy NAME      the policy\n"
	"  --days N           the validity asked for, in days\n"
	"  --template T       the template asked for\n"
	"  --signing-alg ALG  the signing algorithm asked for\n"},
};

#define NHELPS (sizeof(helps) / sizeof(helps[0]))

void
pcactl_usage(FILE *f)
{
	size_t i;
	const char *last = "";

	fprintf(f,
	    "pcactl %s - the OpenPCA admin CLI (works on the store and "
	    "the token; no daemon needed)\n\nusage: pcactl [--config "
	    "FILE] [--json] COMMAND [SUBCOMMAND] [OPTIONS]\n"
	    "       pcactl --version | -h | --help | COMMAND --help\n\n"
	    "Commands:\n",
	    PCA_VERSION);
	for (i = 0; i < NHELPS; i++) {
		if (strcmp(helps[i].cmd, last) == 0)
			continue;
		last = helps[i].cmd;
		if (helps[i].sub == NULL)
			fprintf(f, "  %s\n", helps[i].cmd);
		else {
			size_t j;
			fprintf(f, "  %s ", helps[i].cmd);
			for (j = i; j < NHELPS &&
				    strcmp(helps[j].cmd, helps[i].cmd) == 0;
			     j++)
				fprintf(f, "%s%s", j > i ? "|" : "",
				    helps[j].sub);
			fputc('\n', f);
		}
	}
	fprintf(f, "\n" GLOBAL_OPTS "  --version         print the version\n"
		   "\nCA is an ARN or the bare CA id. Errors: one line on "
		   "stderr, exit status 1.\n");
}

int
pcactl_help(const char *cmd, const char *sub, FILE *f)
{
	size_t i;
	int found = 0;

	if (cmd != NULL && sub != NULL)
		for (i = 0; i < NHELPS && !found; i++)
			if (strcmp(helps[i].cmd, cmd) == 0 &&
			    helps[i].sub != NULL &&
			    strcmp(helps[i].sub, sub) == 0) {
				fputs(helps[i].text, f);
				found = 1;
			}
	for (i = 0; i < NHELPS && !found && cmd != NULL; i++)
		if (strcmp(helps[i].cmd, cmd) == 0) {
			size_t j;
			for (j = i;
			     j < NHELPS && strcmp(helps[j].cmd, cmd) == 0; j++)
				fprintf(f, "%s%s", j > i ? "\n" : "",
				    helps[j].text);
			found = 1;
		}
	if (!found)
		return 0;
	if (strcmp(cmd, "init") != 0)
		fprintf(f, "\n" GLOBAL_OPTS);
	return 1;
}
