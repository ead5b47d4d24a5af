"""The pass plan: the typed passes an emitted folder holds (`passmodel`, serialised as
`manifest.json`), the contract between emitting and running."""
