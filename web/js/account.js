// The account: the links mail carries (reset a password, confirm an address), the
// forgotten-password form, and the settings that change email and username.
import { h, clear, errorText } from "./dom.js";

/** "Forgot your password?" under the sign-in form. */
export function forgotPassword(bm) {
  const status = h("p", { role: "status" });
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "email" });
  return h("details", { class: "forgot" },
    h("summary", {}, "Forgot your password?"),
    h("form", { "aria-label": "Reset password", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await bm.anonymous("POST", "/auth/password-reset", { email: email.value });
        status.textContent = "If an account uses that address, a link to choose a new password is on its way. It works for an hour.";
      } catch (err) { status.textContent = errorText(err); }
    } },
      h("label", {}, "Email", email),
      h("button", { type: "submit" }, "Send me a link")),
    status);
}

/** #/reset-password/{token}: choose a new password, then sign in with it. */
export function resetPasswordView(bm, main, token) {
  const status = h("p", { role: "alert" });
  const password = h("input", { name: "password", type: "password", minlength: 8, required: true,
    autocomplete: "new-password" });
  clear(main, h("section", { class: "auth" },
    h("h1", {}, "Choose a new password"),
    h("form", { "aria-label": "New password", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await bm.anonymous("POST", "/auth/password-reset/confirm", { token, password: password.value });
        clear(main, h("section", { class: "auth" }, h("h1", {}, "Password changed"),
          h("p", { role: "status" }, "Every device was signed out. Sign in with your new password."),
          h("a", { href: "#/" }, "Sign in")));
      } catch (err) { status.textContent = errorText(err); }
    } },
      h("label", {}, "New password", password),
      h("button", { type: "submit" }, "Set password")),
    status));
}

/** #/confirm-email/{token}: opened from the mail, signed in or not. */
export async function confirmEmailView(bm, main, token) {
  const said = h("p", { role: "status" }, "Confirming…");
  clear(main, h("section", { class: "auth" }, h("h1", {}, "Email address"), said,
    h("a", { href: "#/" }, bm.signedIn ? "Back to your library" : "Sign in")));
  try {
    await bm.anonymous("POST", "/auth/confirm-email", { token });
    said.textContent = "Your email address is confirmed.";
    if (bm.signedIn) bm.setUser(await bm.get("/users/me"));
  } catch (err) { said.textContent = errorText(err); }
}

/** The Account section of Settings. */
export function accountSection(bm) {
  const status = h("p", { role: "status" });
  const confirmation = h("p", { class: "confirmation" });
  const showConfirmation = () => {
    const user = bm.user;
    clear(confirmation, `Email: ${user.email} — `,
      user.confirmed_at ? "confirmed." : ["not confirmed yet (needed to share quote cards). ",
        h("button", { type: "button", onclick: resend }, "Send the link again")]);
  };
  const resend = async () => {
    try {
      await bm.post("/users/me/confirmation");
      status.textContent = `A confirmation link is on its way to ${bm.user.email}.`;
    } catch (err) { status.textContent = errorText(err); }
  };
  const change = (body, done) => async (e) => {
    e.preventDefault();
    try {
      bm.setUser(await bm.patch("/users/me", body()));
      document.getElementById("whoami").textContent = `@${bm.user.username}`;
      status.textContent = done();
      e.target.reset();
      showConfirmation();
    } catch (err) { status.textContent = errorText(err); }
  };
  const email = h("input", { id: "new-email", type: "email", required: true, autocomplete: "email" });
  const current = h("input", { id: "email-password", type: "password", required: true,
    autocomplete: "current-password" });
  const username = h("input", { id: "new-username", required: true, pattern: "[A-Za-z0-9_]{3,30}",
    title: "3 to 30 letters, digits or _" });
  showConfirmation();
  return h("section", { "aria-labelledby": "account-h" },
    h("h2", { id: "account-h" }, "Account"),
    confirmation,
    h("form", { "aria-label": "Change email", onsubmit: change(
      () => ({ email: email.value, current_password: current.value }),
      () => `Email changed. Confirm the new address with the link we sent to it.`) },
      h("label", { for: "new-email" }, "New email"), email,
      h("label", { for: "email-password" }, "Current password"), current,
      h("button", { type: "submit" }, "Change email")),
    h("form", { "aria-label": "Change username", onsubmit: change(
      () => ({ username: username.value }), () => `You are now @${bm.user.username}.`) },
      h("label", { for: "new-username" }, "New username"), username,
      h("button", { type: "submit" }, "Change username")),
    status);
}
