"""Services the UI calls: experiments, deploy, push, judge, recommendations."""
