"""The plain-language note of a bundle (README.txt) for a judge or an auditor, in the
appointment's language: what each file is, and how to check it with standard tools
(sha256sum, openssl) and with videotramit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def readme(
    language: str, ref: str, count: int, last_hash: str, seals: Sequence[dict[str, Any]]
) -> str:
    text = _README.get(language) or _README["en"]
    last = seals[-1] if seals else {"seq": "N"}
    with_proof = next((s for s in reversed(seals) if "day" in s), None)
    return text.format(
        ref=ref,
        count=count,
        last_hash=last_hash,
        seal=last["seq"],
        day=with_proof["day"] if with_proof else "AAAA-MM-DD",
    )


_README: dict[str, str] = {
    "en": """\
EVIDENCE BUNDLE - appointment {ref}

This file set is the evidence of a video-call appointment with the Citizen Service
Office: {count} events, in order, from booking to the end of the session, and the files
exchanged (documents, the summary the citizen agreed to, the receipt, the recording).
It contains personal data: keep it safe, share it only with whoever is entitled to it.

WHAT IS INSIDE
  events.jsonl          the events, one per line; each carries the fingerprint (SHA-256)
                        of the one before it, so none can be changed, removed or moved
                        without it showing
  files/                the files, each named after its SHA-256 fingerprint
  manifest.json         summary: appointment, number of events, last fingerprint, files
  council-key.pem       the public key the council says it signed with
  seals/N.statement     what the council signed when it closed the record at event N:
                        the appointment, the last event before N and its fingerprint
  seals/N.sig           the council's signature (Ed25519) of that statement
  seals/N.tsr           an independent time-stamp (RFC 3161) of the statement, if any
  seals/N.proof.json    where that seal sits in the tree of all seals of its day
  journal/DAY.statement the root of that day's tree, signed by the council (journal/DAY.sig)
  tsa-certificate.pem   the certificate inside the time-stamps (if there are any)
  SHA256SUMS            the fingerprint of every other file here

HOW TO CHECK IT
1. Get the council's public key from the council itself (its website or its official
   publications), not from this bundle: council-key.pem is only what the bundle says.
2. Fingerprints (Linux/macOS terminal):
       unzip bundle.zip -d bundle && cd bundle
       sha256sum -c SHA256SUMS            (macOS: shasum -a 256 -c SHA256SUMS)
   Every line must end in "OK".
3. The council's signature of the last seal, with OpenSSL 3:
       openssl pkeyutl -verify -pubin -inkey COUNCIL-KEY.pem -rawin \\
           -in seals/{seal}.statement -sigfile seals/{seal}.sig
   It must say "Signature Verified Successfully". The same works for journal/{day}.*.
4. The time-stamp, if there is one (get the authority's certificate from the authority):
       openssl ts -verify -in seals/{seal}.tsr -data seals/{seal}.statement \\
           -CAfile AUTHORITY.pem
5. Everything at once (events, files, signatures, time-stamps, daily roots):
       videotramit evidence verify bundle.zip --key COUNCIL-KEY.pem
   It says "intact", or names the first event, signature or file that does not hold.
6. The last fingerprint of the chain is {last_hash}.
   The citizen was sent the fingerprint of the seal at the end of the session; add
   --head <that value> to check it is in this chain.

WHAT IT PROVES, AND WHAT IT DOES NOT
- If the checks pass with the council's published key, the events up to each seal are
  exactly those the council's system signed at that moment: nobody rewrote, removed or
  reordered them afterwards, in the database or in this bundle. A time-stamp adds an
  outside witness of when; a daily root shows the seal was among that day's.
- It does not prove that the events were true when written: the council's system wrote
  them. Whoever holds the council's private evidence key can sign anything; that key
  must be kept by the council, outside the service's data, by people other than those
  who run the database. Events after the last seal would not be covered (the check
  fails if there are any).

For programmers: hash = SHA-256(prev_hash + the event as JSON without "hash", keys
sorted, no spaces, UTF-8); the first prev_hash is 64 zeros. A seal's statement is the
same canonical JSON of format, appointment, head_seq, head, at and key. Daily trees
follow RFC 6962 (leaf = SHA-256(0x00 || seal hash), leaves sorted).
""",
    "es": """\
PAQUETE DE EVIDENCIAS - cita {ref}

Este conjunto de ficheros es la evidencia de una cita por videollamada con la Oficina de
Atención Ciudadana: {count} eventos, en orden, desde la reserva hasta el final de la
sesión, y los ficheros intercambiados (documentos, el resumen que la persona aceptó, el
justificante, la grabación). Contiene datos personales: guárdelo de forma segura y
compártalo solo con quien tenga derecho a verlo.

QUÉ CONTIENE
  events.jsonl          los eventos, uno por línea; cada uno lleva la huella (SHA-256)
                        del anterior, de modo que ninguno se puede modificar, eliminar ni
                        mover sin que se note
  files/                los ficheros, cada uno con el nombre de su huella SHA-256
  manifest.json         resumen: cita, número de eventos, última huella, ficheros
  council-key.pem       la clave pública con la que el ayuntamiento dice haber firmado
  seals/N.statement     lo que el ayuntamiento firmó al cerrar el registro en el evento
                        N: la cita, el último evento antes de N y su huella
  seals/N.sig           la firma (Ed25519) del ayuntamiento sobre esa declaración
  seals/N.tsr           un sello de tiempo independiente (RFC 3161), si lo hay
  seals/N.proof.json    dónde está ese cierre en el árbol de todos los cierres del día
  journal/DIA.statement la raíz del árbol de ese día, firmada (journal/DIA.sig)
  tsa-certificate.pem   el certificado incluido en los sellos de tiempo (si los hay)
  SHA256SUMS            la huella de cada uno de los demás ficheros

CÓMO COMPROBARLO
1. Obtenga la clave pública del ayuntamiento del propio ayuntamiento (su web o sus
   publicaciones oficiales), no de este paquete: council-key.pem es solo lo que dice el
   paquete.
2. Huellas (terminal de Linux o macOS):
       unzip bundle.zip -d bundle && cd bundle
       sha256sum -c SHA256SUMS            (macOS: shasum -a 256 -c SHA256SUMS)
   Todas las líneas deben acabar en "OK" (la palabra puede salir traducida).
3. La firma del ayuntamiento del último cierre, con OpenSSL 3:
       openssl pkeyutl -verify -pubin -inkey CLAVE-AYUNTAMIENTO.pem -rawin \\
           -in seals/{seal}.statement -sigfile seals/{seal}.sig
   Debe decir "Signature Verified Successfully". Igual para journal/{day}.*.
4. El sello de tiempo, si lo hay (pida el certificado a la propia autoridad):
       openssl ts -verify -in seals/{seal}.tsr -data seals/{seal}.statement \\
           -CAfile AUTORIDAD.pem
5. Todo a la vez (eventos, ficheros, firmas, sellos de tiempo, raíces diarias):
       videotramit evidence verify bundle.zip --key CLAVE-AYUNTAMIENTO.pem
   Indica que está íntegro, o nombra el primer evento, firma o fichero que falla.
6. La última huella de la cadena es {last_hash}.
   A la persona se le envió la huella del cierre al final de la sesión; añada
   --head <ese valor> para comprobar que está en esta cadena.

QUÉ DEMUESTRA Y QUÉ NO
- Si las comprobaciones pasan con la clave publicada por el ayuntamiento, los eventos
  hasta cada cierre son exactamente los que el sistema del ayuntamiento firmó en ese
  momento: nadie los ha reescrito, eliminado ni reordenado después, ni en la base de
  datos ni en este paquete. Un sello de tiempo añade un testigo externo de cuándo; una
  raíz diaria muestra que el cierre estaba entre los de ese día.
- No demuestra que los eventos fueran ciertos cuando se escribieron: los escribió el
  sistema del ayuntamiento. Quien tenga la clave privada de evidencias puede firmar
  cualquier cosa; el ayuntamiento debe custodiarla fuera de los datos del servicio, en
  manos de personas distintas de las que administran la base de datos. Los eventos
  posteriores al último cierre no quedarían cubiertos (la comprobación falla si hay).

Para programadores: hash = SHA-256(prev_hash + el evento en JSON sin "hash", claves
ordenadas, sin espacios, UTF-8); el primer prev_hash son 64 ceros. La declaración de un
cierre es el mismo JSON canónico de format, appointment, head_seq, head, at y key. Los
árboles diarios siguen RFC 6962 (hoja = SHA-256(0x00 || hash del cierre), hojas ordenadas).
""",
    "ca": """\
PAQUET D'EVIDÈNCIES - cita {ref}

Aquest conjunt de fitxers és l'evidència d'una cita per videotrucada amb l'Oficina
d'Atenció Ciutadana: {count} esdeveniments, en ordre, des de la reserva fins al final de
la sessió, i els fitxers intercanviats (documents, el resum que la persona va acceptar,
el justificant, l'enregistrament). Conté dades personals: deseu-lo de manera segura i
compartiu-lo només amb qui hi tingui dret.

QUÈ CONTÉ
  events.jsonl          els esdeveniments, un per línia; cadascun porta l'empremta
                        (SHA-256) de l'anterior, de manera que no se'n pot modificar,
                        eliminar ni moure cap sense que es noti
  files/                els fitxers, cadascun amb el nom de la seva empremta SHA-256
  manifest.json         resum: cita, nombre d'esdeveniments, última empremta, fitxers
  council-key.pem       la clau pública amb què l'ajuntament diu que ha signat
  seals/N.statement     el que l'ajuntament va signar en tancar el registre a
                        l'esdeveniment N: la cita, l'últim esdeveniment abans de N i la
                        seva empremta
  seals/N.sig           la signatura (Ed25519) de l'ajuntament d'aquesta declaració
  seals/N.tsr           un segell de temps independent (RFC 3161), si n'hi ha
  seals/N.proof.json    on és aquest tancament dins l'arbre de tots els tancaments del dia
  journal/DIA.statement l'arrel de l'arbre d'aquell dia, signada (journal/DIA.sig)
  tsa-certificate.pem   el certificat que porten els segells de temps (si n'hi ha)
  SHA256SUMS            l'empremta de cadascun dels altres fitxers

COM COMPROVAR-LO
1. Obteniu la clau pública de l'ajuntament del mateix ajuntament (el seu web o les seves
   publicacions oficials), no d'aquest paquet: council-key.pem és només el que diu el
   paquet.
2. Empremtes (terminal de Linux o macOS):
       unzip bundle.zip -d bundle && cd bundle
       sha256sum -c SHA256SUMS            (macOS: shasum -a 256 -c SHA256SUMS)
   Totes les línies han d'acabar en "OK" (la paraula pot sortir traduïda).
3. La signatura de l'ajuntament de l'últim tancament, amb OpenSSL 3:
       openssl pkeyutl -verify -pubin -inkey CLAU-AJUNTAMENT.pem -rawin \\
           -in seals/{seal}.statement -sigfile seals/{seal}.sig
   Ha de dir "Signature Verified Successfully". Igual per a journal/{day}.*.
4. El segell de temps, si n'hi ha (demaneu el certificat a la mateixa autoritat):
       openssl ts -verify -in seals/{seal}.tsr -data seals/{seal}.statement \\
           -CAfile AUTORITAT.pem
5. Tot alhora (esdeveniments, fitxers, signatures, segells de temps, arrels diàries):
       videotramit evidence verify bundle.zip --key CLAU-AJUNTAMENT.pem
   Indica que és íntegre, o anomena el primer esdeveniment, signatura o fitxer que falla.
6. L'última empremta de la cadena és {last_hash}.
   A la persona se li va enviar l'empremta del tancament al final de la sessió; afegiu
   --head <aquest valor> per comprovar que és en aquesta cadena.

QUÈ DEMOSTRA I QUÈ NO
- Si les comprovacions passen amb la clau publicada per l'ajuntament, els esdeveniments
  fins a cada tancament són exactament els que el sistema de l'ajuntament va signar en
  aquell moment: ningú no els ha reescrit, eliminat ni reordenat després, ni a la base de
  dades ni en aquest paquet. Un segell de temps hi afegeix un testimoni extern del quan;
  una arrel diària mostra que el tancament era entre els d'aquell dia.
- No demostra que els esdeveniments fossin certs quan es van escriure: els va escriure el
  sistema de l'ajuntament. Qui tingui la clau privada d'evidències pot signar qualsevol
  cosa; l'ajuntament l'ha de custodiar fora de les dades del servei, en mans de persones
  diferents de les que administren la base de dades. Els esdeveniments posteriors a
  l'últim tancament no quedarien coberts (la comprovació falla si n'hi ha).

Per a programadors: hash = SHA-256(prev_hash + l'esdeveniment en JSON sense "hash", claus
ordenades, sense espais, UTF-8); el primer prev_hash són 64 zeros. La declaració d'un
tancament és el mateix JSON canònic de format, appointment, head_seq, head, at i key. Els
arbres diaris segueixen RFC 6962 (fulla = SHA-256(0x00 || hash del tancament), fulles
ordenades).
""",
}
