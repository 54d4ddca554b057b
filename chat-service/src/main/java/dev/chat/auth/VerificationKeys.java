package dev.chat.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.JSONObjectUtils;
import dev.chat.config.AuthSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * The keys tokens may be signed with, read from the settings at start into one JWK Set. Every key
 * carries the one algorithm its type allows ({@code alg}: an HMAC secret HS256, RSA RS256, EC P-256
 * ES256), and {@link TokenVerifier}'s key selector only hands a key to a token of that algorithm,
 * so a token cannot choose how its signature is checked: no RSA public key reused as an HMAC
 * secret.
 */
final class VerificationKeys {

  private static final int MIN_RSA_BITS = 2048;

  private VerificationKeys() {}

  /**
   * Every configured key; throws {@link IllegalArgumentException} saying what is wrong with one.
   */
  static JWKSet load(AuthSettings settings) {
    List<JWK> keys = new ArrayList<>();
    if (settings.secret() != null) {
      keys.add(
          new OctetSequenceKey.Builder(settings.secret().getBytes(StandardCharsets.UTF_8))
              .algorithm(JWSAlgorithm.HS256)
              .build());
    }
    if (settings.publicKeyPem() != null) {
      keys.add(pem(settings.publicKeyPem()));
    }
    if (settings.jwksFile() != null) {
      String json;
      try {
        json = Files.readString(Path.of(settings.jwksFile()));
      } catch (IOException | RuntimeException e) {
        throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE cannot be read: " + e.getMessage());
      }
      keys.addAll(jwks(json));
    }
    return new JWKSet(keys);
  }

  /**
   * A PEM "PUBLIC KEY" (SubjectPublicKeyInfo), RSA or EC P-256. Read with the JDK: nimbus's own PEM
   * reader needs BouncyCastle.
   */
  static JWK pem(String pem) {
    // Accept a PEM pasted into a one-line variable with literal "\n"s.
    String text = pem.replace("\\n", "\n").trim();
    if (!text.startsWith("-----BEGIN PUBLIC KEY-----")
        || !text.endsWith("-----END PUBLIC KEY-----")) {
      throw new IllegalArgumentException(
          "CHAT_JWT_PUBLIC_KEY must be a PEM block from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----");
    }
    String body =
        text.substring(
                "-----BEGIN PUBLIC KEY-----".length(),
                text.length() - "-----END PUBLIC KEY-----".length())
            .replaceAll("\\s", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(body);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "CHAT_JWT_PUBLIC_KEY is not valid base64: " + e.getMessage());
    }
    for (String type : List.of("RSA", "EC")) {
      PublicKey key;
      try {
        key = KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException notThisType) {
        continue;
      }
      String where = "CHAT_JWT_PUBLIC_KEY";
      if (key instanceof RSAPublicKey rsa) {
        return pinned(new RSAKey.Builder(rsa).build(), where);
      }
      ECPublicKey ec = (ECPublicKey) key;
      Curve curve = Curve.forECParameterSpec(ec.getParams());
      if (!Curve.P_256.equals(curve)) {
        throw new IllegalArgumentException(
            where + ": only the EC curve P-256 (ES256) is supported");
      }
      return pinned(new ECKey.Builder(curve, ec).build(), where);
    }
    throw new IllegalArgumentException(
        "CHAT_JWT_PUBLIC_KEY is neither an RSA nor an EC public key");
  }

  /**
   * The signature keys of a JWK Set: RSA and EC P-256; keys for another use are skipped, any other
   * key is an error rather than skipped silently (as {@code JWKSet.parse} would skip an unknown
   * {@code kty}), so a typo in the file stops the node instead of locking every user out.
   */
  static List<JWK> jwks(String json) {
    List<Object> keys;
    try {
      keys = JSONObjectUtils.getJSONArray(JSONObjectUtils.parse(json), "keys");
    } catch (ParseException e) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE is not a JWK Set: " + e.getMessage());
    }
    if (keys == null || keys.isEmpty()) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE has no keys");
    }
    List<JWK> out = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      String where = "CHAT_JWT_JWKS_FILE key " + i;
      if (!(keys.get(i) instanceof Map<?, ?> member)) {
        throw new IllegalArgumentException(where + ": not a JSON object");
      }
      @SuppressWarnings("unchecked") // JSONObjectUtils parses objects into Map<String, Object>
      Map<String, Object> jwk = (Map<String, Object>) member;
      try {
        String use = JSONObjectUtils.getString(jwk, "use");
        if (use != null && !use.equals(KeyUse.SIGNATURE.identifier())) {
          continue; // an encryption key published alongside: not ours to use
        }
        JWK key = pinned(parse(jwk, where).toPublicJWK(), where);
        String alg = JSONObjectUtils.getString(jwk, "alg");
        if (alg != null && !alg.equals(key.getAlgorithm().getName())) {
          throw new IllegalArgumentException(
              where + " says alg " + alg + " but is a " + key.getAlgorithm() + " key");
        }
        out.add(key);
      } catch (ParseException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE has no signature keys");
    }
    return out;
  }

  private static JWK parse(Map<String, Object> jwk, String where) throws ParseException {
    String kty = JSONObjectUtils.getString(jwk, "kty");
    if ("RSA".equals(kty)) {
      return RSAKey.parse(jwk);
    }
    if ("EC".equals(kty)) {
      if (!Curve.P_256.getName().equals(JSONObjectUtils.getString(jwk, "crv"))) {
        throw new IllegalArgumentException(
            where + ": only the EC curve P-256 (ES256) is supported");
      }
      return ECKey.parse(jwk);
    }
    throw new IllegalArgumentException(
        where + ": key type " + kty + " is not supported (RSA or EC)");
  }

  /** The key with the one algorithm it may verify; RSA keys must be long enough. */
  private static JWK pinned(JWK key, String where) {
    if (key instanceof RSAKey rsa) {
      int bits;
      try {
        bits = rsa.toRSAPublicKey().getModulus().bitLength();
      } catch (JOSEException e) {
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
      if (bits < MIN_RSA_BITS) {
        throw new IllegalArgumentException(
            where + ": an RSA key must have at least " + MIN_RSA_BITS + " bits");
      }
      return new RSAKey.Builder(rsa).algorithm(JWSAlgorithm.RS256).build();
    }
    if (key instanceof ECKey ec && Curve.P_256.equals(ec.getCurve())) {
      return new ECKey.Builder(ec).algorithm(JWSAlgorithm.ES256).build();
    }
    throw new IllegalArgumentException(where + ": unsupported key type " + key.getKeyType());
  }
}
