import { ChangeDetectionStrategy, Component, inject } from "@angular/core";
import { Session } from "../auth/session";

/** The seed's "page one": content only a logged-in visitor reaches. */
@Component({
  selector: "app-members-page",
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Members</h1>
    <section class="card">
      <p>Hello, {{ session.user()?.username }}. Only logged-in visitors reach this page.</p>
      <p class="note">
        Its route has the <code>requireLogin</code> guard: a logged-out visitor is sent to the login
        page and comes back here after logging in.
      </p>
    </section>
  `,
})
export class MembersPage {
  readonly session = inject(Session);
}
