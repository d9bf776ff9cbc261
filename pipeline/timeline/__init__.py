"""One call's timeline: read from the agent's transcripts/events file, drawn as a picture
(`switchboard timeline`, `switchboard demo --timeline`, `bench calls --timeline`)."""
