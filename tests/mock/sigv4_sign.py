"""An independent SigV4 signer for the mock's self-test (tests/suites/mock.sh):
prints the headers to send, one "Name: value" per line, for a Bedrock request.
    python3 sigv4_sign.py MODE HOST PATH BODYFILE
HOST is host[:port] as sent, PATH the wire path (model id percent-encoded).
MODE: good | bad-secret | other-key | old-date | other-region | no-date |
      tampered (signs a different body) | token (adds a signed session token).
Written from the AWS documentation, separately from vm/providers/sigv4.c, so
the mock's verification is checked against a second implementation."""
import datetime
import hashlib
import hmac
import sys
import urllib.parse

AKID, SECRET, REGION = "AKIDMOCKEXAMPLE", "mock/secret/KEY+example", "us-east-1"


def sign(mode, host, path, body):
    akid, secret, region = AKID, SECRET, REGION
    now = datetime.datetime.now(datetime.timezone.utc)
    if mode == "bad-secret":
        secret = "not-the-secret"
    if mode == "other-key":
        akid = "AKIDSOMEONEELSE"
    if mode == "old-date":
        now -= datetime.timedelta(hours=1)
    if mode == "other-region":
        region = "eu-west-3"
    if mode == "tampered":
        body = body + b" "
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": "application/json", "host": host, "x-amz-date": amz_date}
    if mode == "token":
        headers["x-amz-security-token"] = "session/token+value"
    # non-S3 services: each wire path segment is URI-encoded once more
    canonical_uri = "/".join(urllib.parse.quote(seg, safe="-_.~") for seg in path.split("/"))
    names = sorted(headers)
    canonical = "\n".join([
        "POST", canonical_uri, "",
        "".join("%s:%s\n" % (n, headers[n].strip()) for n in names),
        ";".join(names), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/bedrock/aws4_request" % (amz_date[:8], region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "bedrock", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {"X-Amz-Date": amz_date,
           "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                            % (akid, scope, ";".join(names), sig)}
    if mode == "token":
        out["X-Amz-Security-Token"] = headers["x-amz-security-token"]
    if mode == "no-date":
        del out["X-Amz-Date"]
    return out


mode, host, path, bodyfile = sys.argv[1:5]
with open(bodyfile, "rb") as f:
    for name, value in sign(mode, host, path, f.read()).items():
        print("%s: %s" % (name, value))
