// placeholder until the CLI lands
console.log('headroom');
