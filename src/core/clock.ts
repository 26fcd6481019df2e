// The platform's clock. Real by default; a demo or a test may set it or run it faster,
// so that a month of outbreak can be replayed in seconds. Rule functions never read it: they take `now`.
export class Clock {
  private anchorReal = Date.now();
  private anchorVirtual = Date.now();
  private speed = 1;

  now(): Date {
    return new Date(this.anchorVirtual + (Date.now() - this.anchorReal) * this.speed);
  }

  /** Jump to a moment; time goes on from there at the current speed. */
  set(at: Date, speed = this.speed): void {
    this.anchorReal = Date.now();
    this.anchorVirtual = at.getTime();
    this.speed = speed;
  }

  /** Change how many virtual milliseconds pass per real one (0 freezes the clock). */
  setSpeed(speed: number): void {
    this.set(this.now(), speed);
  }

  advance(ms: number): void {
    this.set(new Date(this.now().getTime() + ms));
  }

  state() {
    return { now: this.now().toISOString(), speed: this.speed, real: this.speed === 1 && Math.abs(this.now().getTime() - Date.now()) < 1000 };
  }
}
