import { deviceId, signIn } from "../lib/api";
import { button, form, h } from "../lib/dom";

/** Sign up, sign in, or play as this browser's guest. */
export function authScreen(root: HTMLElement, done: () => void) {
  const signUp = form(
    { id: "signup" },
    [
      h("input", { name: "displayName", placeholder: "Display name", required: true, autocomplete: "nickname" }),
      h("input", { name: "email", type: "email", placeholder: "Email", required: true, autocomplete: "email" }),
      h("input", {
        name: "password",
        type: "password",
        placeholder: "Password",
        required: true,
        autocomplete: "new-password",
      }),
      h("button", { class: "primary" }, "Sign up"),
    ],
    async (data) => {
      await signIn("register", data);
      done();
    },
  );
  const login = form(
    { id: "signin" },
    [
      h("input", { name: "email", type: "email", placeholder: "Email", required: true, autocomplete: "username" }),
      h("input", {
        name: "password",
        type: "password",
        placeholder: "Password",
        required: true,
        autocomplete: "current-password",
      }),
      h("button", {}, "Sign in"),
    ],
    async (data) => {
      await signIn("login", data);
      done();
    },
  );
  root.append(
    h("section", {}, h("h2", {}, "Create an account"), signUp),
    h("section", {}, h("h2", {}, "Sign in"), login),
    h(
      "section",
      {},
      h("h2", {}, "Just play"),
      button(
        "Continue as guest",
        async () => {
          await signIn("guest", { deviceId: deviceId() });
          done();
        },
        { id: "guest" },
      ),
    ),
  );
}
