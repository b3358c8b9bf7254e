import { ChangeDetectionStrategy, Component, computed, inject, signal } from "@angular/core";
import { Router, RouterLink, RouterLinkActive, RouterOutlet } from "@angular/router";
import { Session } from "./auth/session";
import { EXAMPLE_CONFIG } from "./config";
import { describeProblem } from "./shared/problem";

@Component({
  selector: "app-root",
  imports: [RouterOutlet, RouterLink, RouterLinkActive],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <header>
      <nav aria-label="Main">
        <a routerLink="/" class="brand">latchkey <span>Angular</span></a>
        <a routerLink="/" routerLinkActive="active" [routerLinkActiveOptions]="{ exact: true }">Status</a>
        <a routerLink="/members" routerLinkActive="active">Members</a>
        <a routerLink="/account" routerLinkActive="active">Account</a>
        <span class="spacer"></span>
        @if (session.user(); as user) {
          <span class="who">{{ user.username }}</span>
          <button type="button" class="secondary" (click)="logout()">Log out</button>
        } @else if (session.status() === "anonymous") {
          <a routerLink="/login" routerLinkActive="active">Log in</a>
          <a routerLink="/register" routerLinkActive="active">Register</a>
        }
      </nav>
    </header>
    <main>
      @if (checkProblem(); as message) {
        <p class="alert" role="alert">{{ message }}</p>
      }
      @if (logoutProblem(); as message) {
        <p class="alert" role="alert">{{ message }}</p>
      }
      <router-outlet />
    </main>
  `,
})
export class App {
  readonly session = inject(Session);
  private readonly router = inject(Router);
  private readonly latchkeyUrl = inject(EXAMPLE_CONFIG).latchkeyUrl;
  readonly checkProblem = computed(() => {
    const error = this.session.checkError();
    return error ? describeProblem(error, this.latchkeyUrl).message : null;
  });
  readonly logoutProblem = signal<string | null>(null);

  constructor() {
    // The first answer from latchkey, on every page load: a reload keeps the login.
    void this.session.whenKnown();
  }

  async logout(): Promise<void> {
    this.logoutProblem.set(null);
    try {
      await this.session.logout();
    } catch (error) {
      this.logoutProblem.set(describeProblem(error, this.latchkeyUrl).message);
    }
    await this.router.navigate(["/login"]);
  }
}
