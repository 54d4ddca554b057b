package dev.chat.auth;

import dev.chat.config.AuthSettings;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.crypto.spec.SecretKeySpec;

/**
 * The keys tokens may be signed with, read from the settings at start. Each key is pinned to the
 * one algorithm its type allows (an HMAC secret to HS256, RSA to RS256, EC P-256 to ES256), so a
 * token cannot choose how its signature is checked: no "none", and no RSA public key reused as an
 * HMAC secret.
 */
final class VerificationKeys {

  static final String HS256 = "HS256";
  static final String RS256 = "RS256";
  static final String ES256 = "ES256";
  private static final int MIN_RSA_BITS = 2048;

  /** A key and the algorithm it verifies; {@code kid} is null unless the JWKS named it. */
  record Entry(String kid, String alg, Key key) {}

  private VerificationKeys() {}

  /**
   * Every configured key; throws {@link IllegalArgumentException} saying what is wrong with one.
   */
  static List<Entry> load(AuthSettings settings) {
    List<Entry> keys = new ArrayList<>();
    if (settings.secret() != null) {
      keys.add(
          new Entry(
              null,
              HS256,
              new SecretKeySpec(settings.secret().getBytes(StandardCharsets.UTF_8), "HmacSHA256")));
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
    return List.copyOf(keys);
  }

  /** A PEM "PUBLIC KEY" (SubjectPublicKeyInfo), RSA or EC P-256. */
  static Entry pem(String pem) {
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
      return entry(null, key, "CHAT_JWT_PUBLIC_KEY");
    }
    throw new IllegalArgumentException(
        "CHAT_JWT_PUBLIC_KEY is neither an RSA nor an EC public key");
  }

  /**
   * The signature keys of a JWK Set: RSA and EC P-256; other keys are an error, not skipped
   * silently.
   */
  static List<Entry> jwks(String json) {
    JsonArray keys;
    try {
      keys = new JsonObject(json).getJsonArray("keys");
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE is not a JWK Set: " + e.getMessage());
    }
    if (keys == null || keys.isEmpty()) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE has no keys");
    }
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      String where = "CHAT_JWT_JWKS_FILE key " + i;
      try {
        JsonObject jwk = keys.getJsonObject(i);
        if (jwk.getString("use") != null && !"sig".equals(jwk.getString("use"))) {
          continue; // an encryption key published alongside: not ours to use
        }
        Entry e = entry(jwk.getString("kid"), jwkKey(jwk, where), where);
        if (jwk.getString("alg") != null && !jwk.getString("alg").equals(e.alg())) {
          throw new IllegalArgumentException(
              where + " says alg " + jwk.getString("alg") + " but is a " + e.alg() + " key");
        }
        out.add(e);
      } catch (ClassCastException | IllegalArgumentException | GeneralSecurityException e) {
        throw new IllegalArgumentException(
            e.getMessage().startsWith(where) ? e.getMessage() : where + ": " + e.getMessage());
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("CHAT_JWT_JWKS_FILE has no signature keys");
    }
    return out;
  }

  private static PublicKey jwkKey(JsonObject jwk, String where) throws GeneralSecurityException {
    String kty = jwk.getString("kty");
    if ("RSA".equals(kty)) {
      return KeyFactory.getInstance("RSA")
          .generatePublic(
              new RSAPublicKeySpec(unsigned(jwk, "n", where), unsigned(jwk, "e", where)));
    }
    if ("EC".equals(kty)) {
      if (!"P-256".equals(jwk.getString("crv"))) {
        throw new IllegalArgumentException(
            where + ": only the EC curve P-256 (ES256) is supported");
      }
      ECPoint point = new ECPoint(unsigned(jwk, "x", where), unsigned(jwk, "y", where));
      return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, p256()));
    }
    throw new IllegalArgumentException(
        where + ": key type " + kty + " is not supported (RSA or EC)");
  }

  private static Entry entry(String kid, PublicKey key, String where) {
    if (key instanceof RSAPublicKey rsa) {
      if (rsa.getModulus().bitLength() < MIN_RSA_BITS) {
        throw new IllegalArgumentException(
            where + ": an RSA key must have at least " + MIN_RSA_BITS + " bits");
      }
      return new Entry(kid, RS256, key);
    }
    if (key instanceof ECPublicKey ec) {
      ECParameterSpec p256 = p256();
      if (!ec.getParams().getOrder().equals(p256.getOrder())
          || !ec.getParams().getCurve().equals(p256.getCurve())) {
        throw new IllegalArgumentException(
            where + ": only the EC curve P-256 (ES256) is supported");
      }
      return new Entry(kid, ES256, key);
    }
    throw new IllegalArgumentException(where + ": unsupported key type " + key.getAlgorithm());
  }

  private static BigInteger unsigned(JsonObject jwk, String field, String where) {
    String v = jwk.getString(field);
    if (v == null) {
      throw new IllegalArgumentException(where + ": missing " + field);
    }
    return new BigInteger(1, Base64.getUrlDecoder().decode(v));
  }

  static ECParameterSpec p256() {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK has no P-256", e);
    }
  }
}
