"""A test CA and server certificates signed by it, made with the openssl CLI."""

import subprocess


def issue_certificates(directory, names, ca_name="racktel test CA"):
    """In `directory`: ca.pem/ca.key, and for each name -> subjectAltName ("IP:127.0.0.1") NAME.pem and
    NAME.key (mode 0600). Returns `directory`."""

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", f"/CN={ca_name}")
    for name, san in names.items():
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}")
        (directory / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
        (directory / f"{name}.key").chmod(0o600)
    return directory
